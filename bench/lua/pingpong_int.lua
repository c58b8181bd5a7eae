-- WORKLOADS.md pingpong_int: as pingpong with the integer i as the message.
local scale = tonumber((...)) or 1
local n = math.floor(100000 * scale)
local echo = worker.create("echo.lua")
worker.send(echo, 0)
assert(worker.receive(echo) == 0)
local t0 = worker.time()
local sum = 0
for i = 1, n do
  worker.send(echo, i)
  local r = worker.receive(echo)
  if r ~= i then error("bad reply") end
  sum = sum + r
end
local dt = worker.time() - t0
assert(sum == n * (n + 1) // 2)
print(string.format("RESULT\ttroupe\tpingpong_int\t%.6f\t%.3f\troundtrips/s", dt, n / dt))
