-- Sends 1..n, then returns n.
local n = ...
for i = 1, n do worker.message(i) end
return n
