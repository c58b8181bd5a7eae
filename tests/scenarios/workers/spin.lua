-- Spins forever (plainly, inside pcall, or inside a coroutine) after telling its parent it started.
local mode = ...
worker.message("started")
if mode == "pcall" then
  while true do pcall(function() while true do end end) end
elseif mode == "coroutine" then
  coroutine.wrap(function() while true do end end)()
else
  while true do end
end
