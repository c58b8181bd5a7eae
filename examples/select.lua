-- A select over a slow and a fast worker: receive returns as soon as either has something.
local slow = worker.create("workers/after.lua", 0.2, "slow")
local fast = worker.create("workers/after.lua", 0.01, "fast")
local pending = 2
while pending > 0 do
  local s, f = worker.receive(slow, fast)
  if s then print("first came " .. s) pending = pending - 1 end
  if f then print("first came " .. f) pending = pending - 1 end
end
