-- A named service called by several clients: the service registers "counter" and answers calls; each client
-- finds it by name and calls it, and waits for the reply as if it were a function call.
-- Run: troupe run examples/service.lua
local service = worker.create("workers/counter_service.lua")
assert(worker.lookup("counter", 5), "the service did not register")
local clients = {}
for i = 1, 3 do clients[i] = worker.create("workers/counter_client.lua", i) end
for i = 1, 3 do
  local ok, got = worker.join(clients[i])
  print(string.format("client %d: %s", i, got))
end
print("total:", worker.call("counter", {op = "get"}))
local ok, err = pcall(worker.call, "no such service", {op = "get"}, 1)
print("calling a name nobody has:", err.kind)
