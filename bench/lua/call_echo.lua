-- Answers every call with its message until its parent ends.
while true do
  local v, _, call = worker.peek()
  if v == nil then return end
  worker.reply(call, v)
end
