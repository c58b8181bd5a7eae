-- Tells its parent it is ready, takes one message and reports it, then stays
-- without reading its inbox again until its parent ends.
worker.message("ready")
worker.message({got = worker.peek()})
worker.join(worker.parent())
