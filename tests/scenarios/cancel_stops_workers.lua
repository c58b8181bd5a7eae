-- cancel stops a worker blocked in peek, one spinning, and one spinning inside pcall; their queued messages
-- stay receivable, join gives false and "cancelled", and the canceller is not raised at.
local function cancel_and_check(w)
  assert(worker.receive(w) ~= nil)
  worker.cancel(w)
  local ok, err = worker.join(w)
  assert(ok == false and err.message == "cancelled", tostring(err and err.message))
  assert(worker.status(w) == "dead")
end
cancel_and_check(worker.create("workers/wait_peek.lua"))
cancel_and_check(worker.create("workers/spin.lua"))
cancel_and_check(worker.create("workers/spin.lua", "pcall"))
cancel_and_check(worker.create("workers/spin.lua", "coroutine"))

-- Messages sent before the cancel stay receivable, then nil: the worker that cancelled is not raised at.
-- The three messages leave in one activation of the worker, so once 1 is here, 2 and 3 are queued behind it.
local chatty = worker.create("workers/three_then_wait.lua")
assert(worker.receive(chatty) == 1)
worker.cancel(chatty)
local ok, err = worker.join(chatty)
assert(ok == false and err.message == "cancelled" and err.kind == "cancelled")
assert(worker.receive(chatty) == 2 and worker.receive(chatty) == 3)
assert(worker.receive(chatty) == nil)
assert(select("#", worker.receive(chatty)) == 1)

-- A worker cancelled by someone else (here its limit's timer) is raised at as before.
local timed = worker.create{path = "workers/wait_peek.lua", timeout = 0.05}
assert(worker.receive(timed) == "ready")
local ok2, err2 = pcall(worker.receive, timed)
assert(not ok2 and err2.kind == "timeout", tostring(err2))
print("scenario ok")
