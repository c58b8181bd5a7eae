-- Waits for START, then adds up the amounts of the data tables it is sent until STOP.
assert(worker.peek() == "START", "expected START first")
local total, count = 0, 0
while true do
  local msg = worker.peek()
  if msg == "STOP" or msg == nil then break end
  total = total + msg.amount
  count = count + 1
  worker.message({id = msg.id, total = total})
end
return {count = count, total = total}
