-- WORKLOADS.md idle: 10,000 workers created and left blocked in worker.peek(). Prints the time to create them
-- (and see each answer once, so all exist), then "READY" and waits, so bench/run_macro can read the RSS.
local n = math.floor(10000 * (tonumber((...)) or 1))
local t0 = worker.time()
local ws = {}
for i = 1, n do ws[i] = worker.create("idle_worker.lua") end
for i = 1, n do assert(worker.receive(ws[i]) == "up") end
local dt = worker.time() - t0
print(string.format("RESULT\ttroupe\tidle_create\t%.6f\t%.3f\tworkers/s", dt, n / dt))
print("READY")
worker.sleep(tonumber((select(2, ...))) or 2)
