-- A key/value service: answers {put = k, value = v} and {get = k} calls.
-- "crash" makes it fail (a fault injected by the example); its supervisor
-- starts a new one under the same name, with an empty store.
local store = {}
while true do
  local msg, _, call = worker.peek()
  if msg == nil then return end
  if msg == "crash" then error("the store crashed") end
  if call and msg.put then
    store[msg.put] = msg.value
    worker.reply(call, true)
  elseif call and msg.get then
    worker.reply(call, store[msg.get])
  end
end
