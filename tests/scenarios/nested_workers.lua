-- Workers three levels deep (and deeper) pass messages up the chain.
local chain = worker.create("workers/nest.lua", 3)
assert(worker.receive(chain) == 3)
local deeper = worker.create("workers/nest.lua", 6)
assert(worker.receive(deeper) == 6)
print("scenario ok")
