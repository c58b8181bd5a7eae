-- limits: memory=16e6
-- expect: memory limit exceeded
-- Lua refuses above 2 GB itself ("resulting string too large"); below that the cap does.
local s = string.rep('x', 1536 * 1024 * 1024)
