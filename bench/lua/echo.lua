-- Replies with every message until its parent ends.
while true do
  local v = worker.peek()
  if v == nil then return end
  worker.message(v)
end
