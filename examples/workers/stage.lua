-- One stage of examples/siblings.lua: applies its step to each number and sends the result to the next
-- stage (the last one reports to its parent); "done" travels down the line after the last number.
local step, next_stage = ...
local steps = {
  double = function(n) return n * 2 end,
  square = function(n) return n * n end,
}
while true do
  local v, from = worker.peek()
  if v == nil or v == "done" then
    if next_stage then worker.send(next_stage, "done") end
    return
  end
  if next_stage then
    worker.send(next_stage, steps[step](v))
  else
    worker.message(string.format("%s got %d from %s", step, v, from == nil and "the parent" or "its sibling"))
  end
end
