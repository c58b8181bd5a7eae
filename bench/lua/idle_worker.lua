-- Says it is up, then blocks in peek.
worker.message("up")
worker.peek()
