-- WORKLOADS.md payload: a 10,000-number array (floats) to a worker and back, 200 times; MB/s counts 8 bytes a
-- number in both directions.
local scale = tonumber((...)) or 1
local rounds = math.floor(200 * scale)
local arr = {}
for i = 1, 10000 do arr[i] = i + 0.5 end
local echo = worker.create("echo.lua")
local t0 = worker.time()
for _ = 1, rounds do
  worker.send(echo, arr)
  local r = worker.receive(echo)
  if #r ~= 10000 or r[10000] ~= 10000.5 then error("bad payload") end
end
local dt = worker.time() - t0
print(string.format("RESULT\ttroupe\tpayload\t%.6f\t%.3f\tMB/s", dt, rounds * 10000 * 8 * 2 / 1e6 / dt))
