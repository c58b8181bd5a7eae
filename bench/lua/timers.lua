-- Message timers armed and fired: one worker arms 100,000 timers (scale with the first argument) spread over
-- the next millisecond, then takes them all from its inbox. Prints RESULT troupe timers <seconds> <rate>
-- timers/s (arm, fire and peek each).
local scale = tonumber((...)) or 1
local n = math.floor(100000 * scale)
local t0 = worker.time()
for i = 1, n do worker.after((i % 1000) * 1e-6, i) end
local sum = 0
for _ = 1, n do sum = sum + worker.peek() end
local dt = worker.time() - t0
assert(sum == n * (n + 1) // 2)
print(string.format("RESULT\ttroupe\ttimers\t%.6f\t%.3f\ttimers/s", dt, n / dt))
