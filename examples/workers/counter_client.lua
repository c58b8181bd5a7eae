-- A client of examples/service.lua: adds its number to the counter three times.
local n = ...
for _ = 1, 3 do
  local total = worker.call("counter", {op = "add", n = n})
  assert(total >= n, "the total counts this client's own add")
end
return "added " .. 3 * n
