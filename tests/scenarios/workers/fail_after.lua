-- Sends the given messages, then raises the given error value.
local messages, err = ...
for _, m in ipairs(messages) do worker.message(m) end
error(err, 0)
