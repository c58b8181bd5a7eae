-- Reports a peek timeout, then echoes one message.
local v, why = worker.peek(0.02)
assert(v == nil and why == "timeout")
worker.message("timed out")
worker.message(worker.peek())
