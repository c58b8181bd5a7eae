-- Squares every number it gets until its parent ends.
while true do
  local x = worker.peek()
  if x == nil then return end
  worker.message(x * x)
end
