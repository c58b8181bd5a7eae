-- receive, join and sleep honour their timeouts; worker.time is a monotonic clock in seconds.
local w = worker.create("workers/wait_peek.lua")
assert(worker.receive(w) == "ready")
local t0 = worker.time()
local v, why = worker.receive(0.05, w)
assert(v == nil and why == "timeout")
local jv, jwhy = worker.join(w, 0.05)
assert(jv == nil and jwhy == "timeout")
worker.sleep(0.05)
assert(worker.time() - t0 >= 0.1)
assert(worker.send(w, "wake"))
local got = worker.receive(w)
assert(got.got == "wake")
-- Its end travels behind its last message: wait for it, then a select over a
-- dead, drained worker returns at once, and not as a timeout.
assert(worker.join(w) == true)
local a, b, why2 = worker.receive(0, w, w)
assert(a == nil and b == nil and why2 == nil, "all dead and drained is not a timeout")
print("scenario ok")
