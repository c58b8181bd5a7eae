-- limits: instructions=1e6
-- expect: instruction limit exceeded
-- The stop ends the coroutine; the script then tries to close it (its __close would run unhooked).
local co = coroutine.create(function()
  local guard <close> = setmetatable({}, {__close = function() while true do end end})
  while true do end
end)
pcall(coroutine.resume, co)
pcall(coroutine.close, co)
pcall(coroutine.close, co)
