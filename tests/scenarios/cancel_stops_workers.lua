-- cancel stops a worker blocked in peek, one spinning, and one spinning inside pcall; their queued messages
-- stay receivable and their error reads "cancelled".
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

-- Messages sent before the cancel stay receivable, then the cancel is raised once, then nil. The three
-- messages leave in one activation of the worker, so once 1 is here, 2 and 3 are queued behind it.
local chatty = worker.create("workers/three_then_wait.lua")
assert(worker.receive(chatty) == 1)
worker.cancel(chatty)
assert(worker.join(chatty) == false)
assert(worker.receive(chatty) == 2 and worker.receive(chatty) == 3)
local ok, err = pcall(worker.receive, chatty)
assert(not ok and err.message == "cancelled")
assert(worker.receive(chatty) == nil)
print("scenario ok")
