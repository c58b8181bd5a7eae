-- 1,000 workers blocked in peek on a few threads all answer.
local ws = {}
for i = 1, 1000 do ws[i] = worker.create("workers/echo.lua") end
for i = 1, 1000 do assert(worker.send(ws[i], i)) end
for i = 1, 1000 do assert(worker.receive(ws[i]) == i) end
print("scenario ok")
