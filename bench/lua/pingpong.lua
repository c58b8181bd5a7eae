-- WORKLOADS.md pingpong: the parent sends {id = i, name = "x"} to one worker, which replies with it; 100,000
-- round trips (scale with the first argument). Prints RESULT troupe pingpong <seconds> <rate> roundtrips/s.
local scale = tonumber((...)) or 1
local n = math.floor(100000 * scale)
local echo = worker.create("echo.lua")
worker.send(echo, {id = 0, name = "x"})
assert(worker.receive(echo).id == 0)
local t0 = worker.time()
local sum = 0
for i = 1, n do
  worker.send(echo, {id = i, name = "x"})
  local r = worker.receive(echo)
  if r.id ~= i or r.name ~= "x" then error("bad reply") end
  sum = sum + r.id
end
local dt = worker.time() - t0
assert(sum == n * (n + 1) // 2)
print(string.format("RESULT\ttroupe\tpingpong\t%.6f\t%.3f\troundtrips/s", dt, n / dt))
