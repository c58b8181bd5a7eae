-- Tells its parent it is ready, then blocks in peek and reports what it got.
worker.message("ready")
local v = worker.peek()
worker.message({got = v})
