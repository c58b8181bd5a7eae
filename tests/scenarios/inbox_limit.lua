-- A full inbox makes send raise "inbox full"; nothing already queued is lost.
-- The worker takes one message and then none, so the inbox fills whenever it runs.
local w = worker.create{path = "workers/take_one.lua", inbox = 3}
assert(worker.receive(w) == "ready")
assert(worker.send(w, 1))
-- The first message may already have been taken by peek; fill up to the bound either way.
local sent = 1
local ok, err
repeat
  ok, err = pcall(worker.send, w, sent + 1)
  if ok then sent = sent + 1 end
until not ok or sent > 10
assert(not ok and err:find("worker.send: inbox full"), tostring(err))
assert(worker.receive(w).got == 1)
print("scenario ok")
