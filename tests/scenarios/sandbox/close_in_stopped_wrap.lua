-- limits: instructions=1e6
-- expect: instruction limit exceeded
-- A stop kills the coroutine; closing it would run its __close with hooks off.
coroutine.wrap(function()
  local guard <close> = setmetatable({}, {__close = function() while true do end end})
  while true do end
end)()
