-- A pipeline relayed by the parent: a producer makes numbers, N transformers square them in parallel, a
-- collector adds them up. The parent moves every item to the next stage.
local N = 3
local producer = worker.create("workers/producer.lua", 20)
local transformers = {}
for i = 1, N do transformers[i] = worker.create("workers/square.lua") end
local collector = worker.create("workers/collector.lua")

local next_transformer, in_flight = 1, 0
local producing = true
while producing or in_flight > 0 do
  local item
  if producing then
    item = worker.receive(producer)
    if item == nil then producing = false end
  end
  if item then
    worker.send(transformers[next_transformer], item)
    next_transformer = next_transformer % N + 1
    in_flight = in_flight + 1
  end
  -- Relay whatever the transformers have finished: without waiting while the producer still has items for
  -- them, waiting once only results are outstanding.
  local results = {}
  if producing then
    results = {worker.receive(0, table.unpack(transformers))}
  elseif in_flight > 0 then
    results = {worker.receive(table.unpack(transformers))}
  end
  for i = 1, N do
    if results[i] then
      worker.send(collector, results[i])
      in_flight = in_flight - 1
    end
  end
end
worker.send(collector, "done")
local _, sum, count = worker.join(collector)
print(("collected %d squares, sum %d"):format(count, sum))
