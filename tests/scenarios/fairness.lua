-- Fair preemption: two workers spinning (one inside a coroutine, one inside pcall) beside a ping-pong pair, on
-- two threads. The pair keeps going and the spinners keep making progress; without preemption the spinners
-- would hold both threads and the ping-pong would never answer.
local spinners = {worker.create("workers/spin_progress.lua", "coroutine"),
                  worker.create("workers/spin_progress.lua", "pcall")}
for _, s in ipairs(spinners) do assert(worker.receive(s) == "started") end
local echo = worker.create("workers/echo.lua")
for i = 1, 2000 do
  assert(worker.send(echo, i))
  assert(worker.receive(echo) == i)
end
for _, s in ipairs(spinners) do
  local a = worker.receive(s)
  local b = worker.receive(s)
  assert(type(a) == "number" and b > a, "a spinner made no progress")
  worker.cancel(s)
end
print("scenario ok")
