-- Sleeps for the given seconds (without holding a thread), then sends its name.
local seconds, name = ...
worker.sleep(seconds)
worker.message(name)
