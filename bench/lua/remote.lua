-- The workloads of issue 16 over a node on loopback (bench/run_nodes starts it with --root bench/lua):
--   pingpong: {id = i, name = "x"} to one remote echo worker and back, 20,000 round trips (scale with the
--     third argument); prints the median and p99 round trip in microseconds and the rate;
--   fanout: WORKLOADS.md fanout with both workers on the node, 1,000 in flight, 200,000 messages.
local node, workload = ...
local scale = tonumber((select(3, ...))) or 1
if workload == "pingpong" then
  local n = math.floor(20000 * scale)
  local echo = worker.create{node = node, path = "echo.lua"}
  for i = 1, 200 do
    worker.send(echo, {id = -i, name = "x"})
    worker.receive(echo)
  end
  local times = {}
  local t0 = worker.time()
  for i = 1, n do
    local s = worker.time()
    worker.send(echo, {id = i, name = "x"})
    local r = worker.receive(echo)
    times[i] = worker.time() - s
    if r.id ~= i or r.name ~= "x" then error("bad reply") end
  end
  local dt = worker.time() - t0
  table.sort(times)
  print(string.format("RESULT\ttroupe\tremote_pingpong\t%.6f\t%.3f\troundtrips/s", dt, n / dt))
  print(string.format("RESULT\ttroupe\tremote_pingpong_median_us\t%.6f\t%.1f\tus", dt,
    times[n // 2] * 1e6))
  print(string.format("RESULT\ttroupe\tremote_pingpong_p99_us\t%.6f\t%.1f\tus", dt,
    times[math.ceil(n * 0.99)] * 1e6))
elseif workload == "fanout" then
  local n = math.floor(200000 * scale)
  local in_flight = 1000
  local ws = {worker.create{node = node, path = "echo.lua"}, worker.create{node = node, path = "echo.lua"}}
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
  print(string.format("RESULT\ttroupe\tremote_fanout\t%.6f\t%.3f\tmsgs/s", dt, n / dt))
else
  error("remote.lua: workload must be pingpong or fanout")
end
