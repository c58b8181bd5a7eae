-- permissions: worker load fs:read=.
-- expect: protected: troupe.worker_error
-- The metatable of the error tables receive raises is the sandbox's.
if ... then error("child fails") end
local w = worker.create("error_metatable.lua", true)
local ok, err = pcall(worker.receive, w)
local mt = getmetatable(err)
if type(mt) ~= "table" then error("protected: " .. tostring(mt)) end
mt.__gc = function() while true do end end
