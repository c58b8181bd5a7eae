-- WORKLOADS.md fairness: 2 workers in `while true do end` beside a pingpong pair, all on 2 threads (run with
-- --threads 2). Prints the median and 99th-percentile round trip and how far each spinner got.
local rounds = math.floor(20000 * (tonumber((...)) or 1))
local spinners = {worker.create("spinner.lua"), worker.create("spinner.lua")}
for _, s in ipairs(spinners) do assert(worker.receive(s) == "started") end
local echo = worker.create("echo.lua")
local times = {}
for i = 1, rounds do
  local t0 = worker.time()
  worker.send(echo, i)
  assert(worker.receive(echo) == i)
  times[i] = worker.time() - t0
end
table.sort(times)
local progress = {}
for i, s in ipairs(spinners) do
  local last
  repeat
    local v, why = worker.receive(0, s)
    if v then last = v end
  until v == nil
  progress[i] = last or 0
  worker.cancel(s)
end
print(string.format("RESULT\ttroupe\tfairness_p99\t%.6f\t%.1f\tus", times[math.ceil(rounds * 0.99)], times[math.ceil(rounds * 0.99)] * 1e6))
print(string.format("RESULT\ttroupe\tfairness_p50\t%.6f\t%.1f\tus", times[rounds // 2], times[rounds // 2] * 1e6))
print(string.format("RESULT\ttroupe\tfairness_spinner_iterations\t%d\t%d", progress[1], progress[2]))
