-- Sibling pingpong through handles: two workers the parent starts bounce {id = i, name = "x"} between them
-- with worker.send (no parent on the path), 100,000 round trips (scale with the first argument). Prints
-- RESULT troupe siblings <seconds> <rate> roundtrips/s.
local scale = tonumber((...)) or 1
local n = math.floor(100000 * scale)
local b = worker.create("sibling_echo.lua")
local a = worker.create("sibling_pinger.lua", b, n)
local dt = worker.receive(a)
print(string.format("RESULT\ttroupe\tsiblings\t%.6f\t%.3f\troundtrips/s", dt, n / dt))
