-- limits: timeout=0.3
-- expect: time limit exceeded
-- xpcall's handler runs where the stop is raised, inside the hook (hooks off there).
xpcall(function() while true do end end, function() while true do end end)
