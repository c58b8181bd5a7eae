-- status turns dead only once every message is receivable; join gives return values or errors (also after
-- the error was received); send to a dead worker gives false; message(nil) and send(w, nil) are errors.
local c = worker.create("workers/count.lua", 3)
local ok, n = worker.join(c)
assert(ok == true and n == 3)
assert(worker.status(c) == "dead")
assert(worker.receive(c) == 1 and worker.receive(c) == 2 and worker.receive(c) == 3)
assert(worker.send(c, "late") == false)

local r = worker.create("workers/returns.lua", 1, nil, "three", {4})
local rok, a, b, three, four = worker.join(r)
assert(rok and a == 1 and b == nil and three == "three" and four[1] == 4)

local f = worker.create("workers/fail_after.lua", {}, "joined error")
assert(not pcall(worker.receive, f))
local fok, ferr = worker.join(f)
assert(fok == false and ferr.message == "joined error")

local echo = worker.create("workers/echo.lua")
assert(worker.status(echo) == "running")
local okm, errm = pcall(worker.message, nil)
assert(not okm and errm:find("bad argument #1 to '[%w.]*message' %(non%-nil value expected, got nil%)"), errm)
local oks, errs = pcall(worker.send, echo, nil)
assert(not oks and errs:find("bad argument #2 to '[%w.]*send'"), errs)
local okw, errw = pcall(worker.send, nil, 1)
assert(not okw and errw:find("bad argument #1 to '[%w.]*send' %(worker expected, got nil%)"), errw)
local okr, errr = pcall(worker.receive)
assert(not okr and errr:find("bad argument #1 to '[%w.]*receive' %(worker expected, got no value%)"), errr)
print("scenario ok")
