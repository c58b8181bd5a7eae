-- WORKLOADS.md fanout (in_flight 1,000) and fanout2 (in_flight 2: one per worker, lockstep, as the peers'
-- scripts run it): 2 workers; the parent sends 200,000 {id = i, name = "x"} tables alternating between them,
-- `in_flight` at a time, then collects replies. A third argument HOST:PORT puts both workers on that node
-- (bench/run_nodes: remote_fanout).
local scale = tonumber((...)) or 1
local in_flight = tonumber((select(2, ...))) or 1000
local node = select(3, ...)
local name = node and "remote_fanout" or in_flight == 2 and "fanout2" or "fanout"
local n = math.floor(200000 * scale)
local spec = node and {node = node, path = "echo.lua"} or "echo.lua"
local ws = {worker.create(spec), worker.create(spec)}
local t0 = worker.time()
local sum, sent = 0, 0
while sent < n do
  local batch = math.min(in_flight, n - sent)
  for k = 1, batch do
    local i = sent + k
    worker.send(ws[i % 2 + 1], {id = i, name = "x"})
  end
  for k = 1, batch do
    local i = sent + k
    local r = worker.receive(ws[i % 2 + 1])
    if r.id ~= i or r.name ~= "x" then error("bad reply") end
    sum = sum + r.id
  end
  sent = sent + batch
end
local dt = worker.time() - t0
assert(sum == n * (n + 1) // 2)
print(string.format("RESULT\ttroupe\t%s\t%.6f\t%.3f\tmsgs/s", name, dt, n / dt))
