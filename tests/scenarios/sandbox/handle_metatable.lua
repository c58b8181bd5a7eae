-- permissions: worker load fs:read=.
-- expect: protected: worker
-- A handle's metatable is the sandbox's: a __gc added there would run with hooks off.
if ... then return end
local w = worker.create("handle_metatable.lua", true)
local mt = getmetatable(w)
if type(mt) ~= "table" then error("protected: " .. tostring(mt)) end
mt.__gc = function() while true do end end
