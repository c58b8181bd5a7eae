-- Sends 1, 2, 3 in one go, then blocks in peek.
worker.message(1)
worker.message(2)
worker.message(3)
worker.peek()
