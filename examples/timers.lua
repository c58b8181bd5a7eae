-- Timers are messages: worker.every puts a value into this worker's own inbox every period, worker.after once;
-- both come from the worker itself and are taken with worker.peek like any message. worker.cancel_timer stops one.
local ticker = worker.every(0.01, "tick")
local ticks = 0
while ticks < 5 do
  local msg, from = worker.peek()
  assert(msg == "tick" and from == worker.self())
  ticks = ticks + 1
  print("tick " .. ticks)
end
print("cancelled: " .. tostring(worker.cancel_timer(ticker)))
worker.after(0.02, {done = true})
repeat
  local msg = worker.peek()
until type(msg) == "table" and msg.done
print("the one-off timer came after the ticks")
