-- A chain of workers `depth` deep; the deepest reports its depth up the chain.
local depth = ...
if depth == 1 then
  worker.message(1)
  return
end
local child = worker.create("nest.lua", depth - 1)
local got = worker.receive(child)
worker.message(got + 1)
