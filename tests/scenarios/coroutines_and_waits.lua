-- Host yields pass through the script's own coroutines: worker calls that wait work inside coroutine.wrap and
-- coroutine.resume (nested too), preemption never shows up as a yield of the user's coroutine, and a wait
-- where no yield can reach the actor (inside a table.sort comparator) raises a clear error.
local w = worker.create("workers/echo.lua")

local relay = coroutine.wrap(function(a)
  worker.send(w, a)
  local back = worker.receive(w)
  local b = coroutine.yield(back)
  worker.sleep(0.001)
  worker.send(w, b)
  return worker.receive(w)
end)
assert(relay("one") == "one")
assert(relay("two") == "two")

local outer = coroutine.create(function()
  local inner = coroutine.create(function()
    worker.send(w, "deep")
    coroutine.yield(worker.receive(w))
    return "inner done"
  end)
  local ok, v = coroutine.resume(inner)
  assert(ok and v == "deep")
  coroutine.yield("outer saw " .. v)
  return select(2, coroutine.resume(inner))
end)
local ok1, v1 = coroutine.resume(outer)
assert(ok1 and v1 == "outer saw deep", tostring(v1))
local ok2, v2 = coroutine.resume(outer)
assert(ok2 and v2 == "inner done", tostring(v2))

-- A generator that runs long enough to be preempted many times yields every item, in order, to its caller.
local gen = coroutine.wrap(function()
  for i = 1, 100000 do
    local x = 0
    for j = 1, 20 do x = x + j end
    coroutine.yield(i)
  end
  return nil
end)
local count = 0
for i in gen do
  count = count + 1
  assert(i == count)
end
assert(count == 100000)

-- Errors inside wrapped coroutines still carry their position, and a dead coroutine says so.
local bad = coroutine.wrap(function() error("inside") end)
local okb, errb = pcall(bad)
assert(not okb and errb:find("inside"))
local co = coroutine.create(function() return 1 end)
assert(coroutine.resume(co))
local okd, errd = coroutine.resume(co)
assert(not okd and errd == "cannot resume dead coroutine")

local okw, errw = pcall(table.sort, {3, 1, 2}, function(a, b) worker.sleep(0) return a < b end)
assert(not okw and errw:find("worker.sleep cannot wait here"), errw)
-- The top of a worker is its main thread: a yield there is an error (it would otherwise wait forever), and
-- inside a coroutine yielding still works.
assert(not coroutine.isyieldable())
local oky, erry = pcall(coroutine.yield, 1)
assert(not oky and erry:find("attempt to yield from outside a coroutine"), erry)
assert(coroutine.wrap(function() return coroutine.isyieldable() end)())
print("scenario ok")
