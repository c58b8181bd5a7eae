-- Hands each call, with its reply token, to the next of 4 helpers.
local helpers = {}
for i = 1, 4 do helpers[i] = worker.create("dispatch_helper.lua") end
local i = 0
while true do
  local v, _, call = worker.peek()
  if v == nil then return end
  i = i % 4 + 1
  worker.send(helpers[i], {v, call})
end
