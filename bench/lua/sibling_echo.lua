-- Sends every message back to whoever sent it, until its parent ends.
while true do
  local v, from = worker.peek()
  if v == nil then return end
  worker.send(from, v)
end
