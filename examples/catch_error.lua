-- Catching a worker's error with pcall: the error is a table with message, traceback and the worker.
local w = worker.create("workers/fails.lua")
local ok, err = pcall(worker.receive, w)
print("caught: " .. tostring(err))
print("from the failing worker: " .. tostring(err.worker == w))
print("has a traceback: " .. tostring(err.traceback:find("stack traceback:", 1, true) ~= nil))
print("after the error: " .. tostring(worker.receive(w)))
