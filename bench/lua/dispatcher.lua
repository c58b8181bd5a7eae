-- A dispatcher hands calls to 4 helpers, which reply in its place (delegated replies); 4 clients call it
-- 25,000 times each (scale with the first argument). Prints RESULT troupe dispatcher <seconds> <rate> calls/s.
local scale = tonumber((...)) or 1
local per_client = math.floor(25000 * scale)
local d = worker.create("dispatch_server.lua")
local clients = {}
for i = 1, 4 do clients[i] = worker.create("dispatch_client.lua", d, per_client) end
local t0 = worker.time()
for i = 1, 4 do assert(worker.join(clients[i])) end
local dt = worker.time() - t0
print(string.format("RESULT\ttroupe\tdispatcher\t%.6f\t%.3f\tcalls/s", dt, 4 * per_client / dt))
