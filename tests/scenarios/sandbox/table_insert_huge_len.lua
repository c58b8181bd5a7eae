-- limits: instructions=1e6
-- expect: instruction limit exceeded
-- A __len of 1e17 makes insert and remove shift elements 1e17 times inside one C call.
local t = setmetatable({}, {__len = function() return 1e17 end})
pcall(table.insert, t, 1, "x")
pcall(table.remove, t, 1)
table.insert(t, 1, "x")
