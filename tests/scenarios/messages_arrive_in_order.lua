-- 10,000 messages from one worker arrive in the order sent, then its return value.
local w = worker.create("workers/count.lua", 10000)
for i = 1, 10000 do
  local v = worker.receive(w)
  assert(v == i, ("message %d arrived as %s"):format(i, tostring(v)))
end
assert(worker.receive(w) == nil)
local ok, n = worker.join(w)
assert(ok and n == 10000)
print("scenario ok")
