-- A worker counting to 10: the parent prints each number as it arrives.
local counter = worker.create("workers/counter.lua", 10)
while true do
  local n = worker.receive(counter)
  if n == nil then break end
  print("got " .. n)
end
print("counter is " .. worker.status(counter))
