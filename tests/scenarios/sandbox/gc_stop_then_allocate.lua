-- limits: memory=16e6
-- expect: memory limit exceeded
-- Stopping the collector does not stop the cap.
collectgarbage('stop')
local t = {}
for i = 1, 1e9 do t[i] = ('x'):rep(64) .. i end
