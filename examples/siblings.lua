-- Three stages pass work along without the parent: each stage gets the handle of the next one and sends its
-- result straight there. The parent feeds the first stage and hears from the last one only.
-- Run: troupe run examples/siblings.lua
local print_stage = worker.create("workers/stage.lua", "print")
local square = worker.create("workers/stage.lua", "square", print_stage)
local double = worker.create("workers/stage.lua", "double", square)
for n = 1, 3 do worker.send(double, n) end
worker.send(double, "done")
for _ = 1, 3 do print(worker.receive(print_stage)) end
