-- Spins without ever waiting, reporting its iteration count now and then (optionally inside pcall).
local mode = ...
worker.message("started")
local n = 0
local function spin()
  while true do
    n = n + 1
    if n % 2000000 == 0 then worker.message(n) end
  end
end
if mode == "pcall" then
  while true do pcall(spin) end
elseif mode == "coroutine" then
  coroutine.wrap(spin)()
else
  spin()
end
