-- A worker call that would wait inside a coroutine of the script raises a clear error and leaves the
-- coroutine usable; calls that do not wait work there.
local w = worker.create("workers/wait_peek.lua")
local co = coroutine.wrap(function()
  local ok, err = pcall(worker.receive, w)
  coroutine.yield(ok, err)
  coroutine.yield(worker.status(w))
end)
local ok, err = co()
assert(not ok and err:find("cannot wait here"), err)
assert(co() == "running")
assert(worker.receive(w) == "ready")
print("scenario ok")
