-- Adds up numbers until "done"; returns the sum and the count.
local sum, count = 0, 0
while true do
  local x = worker.peek()
  if x == "done" or x == nil then return sum, count end
  sum, count = sum + x, count + 1
end
