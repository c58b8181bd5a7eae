-- Answers the calls its dispatcher hands it.
while true do
  local job = worker.peek()
  if job == nil then return end
  worker.reply(job[2], job[1] + 1)
end
