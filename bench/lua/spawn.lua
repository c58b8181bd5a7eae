-- WORKLOADS.md spawn: start 1,000 workers, each sends back one number; wait for all.
local scale = tonumber((...)) or 1
local n = math.floor(1000 * scale)
local t0 = worker.time()
local ws = {}
for i = 1, n do ws[i] = worker.create("send_one.lua", i) end
local sum = 0
for i = 1, n do sum = sum + worker.receive(ws[i]) end
local dt = worker.time() - t0
assert(sum == n * (n + 1) // 2)
print(string.format("RESULT\ttroupe\tspawn\t%.6f\t%.3f\tworkers/s", dt, n / dt))
