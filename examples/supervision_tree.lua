-- A supervision tree: a key/value service and a crew of two workers under a
-- top supervisor; the crew is a supervisor of its own that restarts both
-- members when one fails (one_for_all). Failures are injected: the store
-- crashes and comes back under its name; a crew member crashes and the
-- whole crew restarts; then it crashes too often, the crew gives up, and
-- the top supervisor starts a fresh crew.
local top = worker.supervise{strategy = "one_for_one", intensity = 5,
  children = {
    {name = "store", path = "workers/kv_store.lua"},
    {name = "crew", supervise = {strategy = "one_for_all", intensity = 1,
      children = {
        {name = "tally_a", path = "workers/tally.lua", args = {"a"}},
        {name = "tally_b", path = "workers/tally.lua", args = {"b"}}}}},
  }}

-- Crashes the worker named `name` and waits until its replacement runs.
local function crash(name)
  local old = worker.lookup(name)
  worker.monitor(old)
  worker.send(name, "crash")
  repeat local down = worker.peek() until down.event == "down"
  return worker.lookup(name, 5)
end

local function restarts(sup)
  local parts = {}
  for _, c in ipairs(worker.call(sup, "which")) do
    parts[#parts + 1] = c.name .. "=" .. c.restarts
  end
  return table.concat(parts, " ")
end

worker.call("store", {put = "greeting", value = "hello"})
print("store: greeting = " .. worker.call("store", {get = "greeting"}))
crash("store")
print("store restarted, greeting = " ..
  tostring(worker.call("store", {get = "greeting"})))

worker.send("tally_a", "tick")
worker.send("tally_b", "tick")
print(worker.call("tally_a", "count") .. ", " .. worker.call("tally_b", "count"))
crash("tally_a")
-- one_for_all: tally_b was restarted too, and counts from zero.
print("after a crash: " .. worker.call(worker.lookup("tally_b", 5), "count"))
local crew = worker.lookup("crew")
print("crew: " .. restarts(crew))

-- A second crash is more than the crew's intensity of 1: it gives up, and
-- the top supervisor replaces the whole crew.
worker.monitor(crew)
worker.send("tally_a", "crash")
local down
repeat down = worker.peek() until down.event == "down" and down.worker == crew
print("the crew ended: " .. down.error.kind)
local fresh = worker.lookup("crew", 5)
print("a fresh crew: " .. tostring(fresh ~= crew) .. ", " .. restarts(fresh))
print("top: " .. restarts(top))

worker.call(top, "shutdown")
print("shut down: " .. tostring(worker.join(top)))
