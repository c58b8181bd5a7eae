-- expect: returned at once: 0 0
-- An empty repetition loops 1e17 times inside one C call in Lua's own string.rep.
local a = string.rep("", 1e17)
local b = string.rep("", 1e17, "")
error("returned at once: " .. #a .. " " .. #b, 0)
