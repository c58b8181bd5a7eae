-- Spins forever, optionally inside pcall, after telling its parent it started.
local mode = ...
worker.message("started")
if mode == "pcall" then
  while true do pcall(function() while true do end end) end
else
  while true do end
end
