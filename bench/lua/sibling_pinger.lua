-- Bounces n messages off its sibling and tells the parent how long it took.
local other, n = ...
worker.send(other, {id = 0, name = "x"})
assert(worker.peek().id == 0)
local t0 = worker.time()
for i = 1, n do
  worker.send(other, {id = i, name = "x"})
  local r = worker.peek()
  if r.id ~= i then error("bad reply") end
end
worker.message(worker.time() - t0)
