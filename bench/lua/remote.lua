-- Remote pingpong over a node on loopback (bench/run_nodes starts it with --root bench/lua): {id = i, name =
-- "x"} to one remote echo worker and back, 20,000 round trips (scale with the third argument); prints the
-- median and p99 round trip in microseconds and the rate. (Remote fanout is fanout.lua with a node.)
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
else
  error("remote.lua: the workload must be pingpong")
end
