-- A crew member: counts the "tick"s it gets and answers "count" calls;
-- "crash" makes it fail.
local name, count = ..., 0
while true do
  local msg, _, call = worker.peek()
  if msg == nil then return end
  if msg == "crash" then error(name .. " crashed") end
  if msg == "tick" then count = count + 1 end
  if call then worker.reply(call, name .. " counted " .. count) end
end
