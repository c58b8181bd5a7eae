-- limits: timeout=0.3
-- expect: time limit exceeded
local t = setmetatable({}, {__len = function() return 1e17 end})
table.remove(t, 1)
