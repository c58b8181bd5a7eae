-- Spins forever; every 1,000,000 iterations it reports how far it got.
worker.message("started")
local n = 0
while true do
  n = n + 1
  if n % 1000000 == 0 then worker.message(n) end
end
