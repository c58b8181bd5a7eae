-- Calls the dispatcher n times.
local d, n = ...
for i = 1, n do
  if worker.call(d, i) ~= i + 1 then error("bad reply") end
end
