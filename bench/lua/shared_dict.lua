-- Shared dict get or set from Lua (issue 17): `workers` workers (default 1) each make 1,000,000 calls (scale with
-- the first argument) of d:get or d:set on one dict, keys cycling through 1,000. Needs
-- `troupe run --shared bench=64m`. Prints RESULT troupe dict_<op> <seconds> <rate> ops/s (all workers together).
local scale, op, workers, role = tonumber((...)) or 1, select(2, ...) or "get", tonumber((select(3, ...))) or 1,
  select(4, ...)
-- Workers start half the keys apart, as unrelated clients would be.
local offset = tonumber((select(5, ...))) or 0
local n = math.floor(1000000 * scale)
local d = assert(worker.shared("bench"), "run with --shared bench=64m")
local keys = {}
for i = 1, 1000 do keys[i] = "key:" .. i end

local function loop()
  if op == "get" then
    for i = 1, n do d:get(keys[(i + offset) % 1000 + 1]) end
  else
    for i = 1, n do d:set(keys[(i + offset) % 1000 + 1], i) end
  end
end

if role == "child" then
  worker.message("ready")
  worker.peek()
  loop()
  return
end
for i = 1, 1000 do d:set(keys[i], "a value of some length") end
local children = {}
for i = 1, workers do
  children[i] = worker.create("shared_dict.lua", scale, op, 1, "child", (i - 1) * 500)
  worker.receive(children[i])
end
local t0 = worker.time()
for i = 1, workers do worker.send(children[i], "go") end
for i = 1, workers do worker.join(children[i]) end
local dt = worker.time() - t0
print(string.format("RESULT\ttroupe\tdict_%s\t%.6f\t%.3f\tops/s", op, dt, workers * n / dt))
