-- worker.lookup of a registered name, 1,000,000 times (scale with the first argument), among 1,000 names.
-- Prints RESULT troupe lookup <seconds> <ns per lookup> ns/lookup.
local scale = tonumber((...)) or 1
local n = math.floor(1000000 * scale)
for i = 1, 1000 do worker.register("name" .. i) end
local names = {}
for i = 1, 1000 do names[i] = "name" .. i end
local me = worker.self()
local t0 = worker.time()
for i = 1, n do
  if worker.lookup(names[i % 1000 + 1]) ~= me then error("bad lookup") end
end
local dt = worker.time() - t0
print(string.format("RESULT\ttroupe\tlookup\t%.6f\t%.1f\tns/lookup", dt, dt / n * 1e9))
