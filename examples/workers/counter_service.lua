-- The service of examples/service.lua: keeps a total and answers {op = "add", n = ...} and {op = "get"}.
worker.register("counter")
local total = 0
while true do
  local request, from, call = worker.peek()
  if request == nil then return end
  if request.op == "add" then total = total + request.n end
  worker.reply(call, total)
end
