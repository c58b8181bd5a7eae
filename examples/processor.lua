-- A processor driven by its parent: START, then data tables, then STOP; it answers with a running total.
local p = worker.create("workers/processor.lua")
worker.send(p, "START")
for _, item in ipairs({{id = 1, amount = 10}, {id = 2, amount = 32}, {id = 3, amount = 58}}) do
  worker.send(p, item)
  local reply = worker.receive(p)
  print(("item %d -> total %d"):format(reply.id, reply.total))
end
worker.send(p, "STOP")
local ok, summary = worker.join(p)
print(("processor stopped after %d items, total %d"):format(summary.count, summary.total))
