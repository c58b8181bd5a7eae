-- Creates a grandchild that waits in peek, reports it, then ends; the grandchild's peek must give nil.
local grandchild = worker.create("wait_peek.lua")
assert(worker.receive(grandchild) == "ready")
worker.message("grandchild ready")
