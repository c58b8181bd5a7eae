-- permissions: fs:read=.
-- expect: protected: FILE*
-- The file handle's metatable is the sandbox's (shared by every file and, in a pool, every job).
local f = io.open("file_metatable.lua")
local mt = getmetatable(f)
if type(mt) ~= "table" then error("protected: " .. tostring(mt)) end
mt.__gc = function() while true do end end
