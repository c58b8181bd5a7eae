-- Sends back every message from its inbox until its parent ends (peek gives nil).
while true do
  local v = worker.peek()
  if v == nil then return end
  worker.message(v)
end
