-- limits: instructions=1e7
-- expect: instruction limit exceeded
coroutine.wrap(function() while true do end end)()
