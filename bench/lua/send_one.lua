-- Sends back its argument.
worker.message((...))
