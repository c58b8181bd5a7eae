-- A select takes one message from every listed worker that has one, so neither starves.
local a = worker.create("workers/count.lua", 50)
local b = worker.create("workers/count.lua", 50)
assert(worker.join(a) and worker.join(b))
for i = 1, 50 do
  local x, y = worker.receive(a, b)
  assert(x == i and y == i, ("round %d gave %s, %s"):format(i, tostring(x), tostring(y)))
end
local x, y = worker.receive(a, b)
assert(x == nil and y == nil)
print("scenario ok")
