-- troupe's supervisor (worker.supervise), written against the worker module
-- like any script. One chunk with two uses: loaded as a library into the
-- calling state (`...` is "library" and the C function that spawns a
-- supervisor) it gives worker.supervise; run as a supervisor's own script
-- (`...` is "run" and the spec) it is the supervisor. A supervisor's state
-- has a few internal functions (worker._hold, _bind, _release, _give_up,
-- _backoff) and a peek that says what each entry is; no other code runs
-- there. The restart rules are troupe::supervisor's: see docs/decisions.md.
local mode, given = ...
local worker, type, pairs, ipairs, error, pcall = worker, type, pairs, ipairs,
  error, pcall
local format = string.format

-- ---- the spec

local strategies = { one_for_one = true, one_for_all = true, rest_for_one = true }
local restart_modes = { permanent = true, transient = true, temporary = true }
local spec_options = {
  strategy = true, intensity = true, period = true, children = true,
  backoff_min = true, backoff_max = true, jitter = true,
}
local child_options = {
  name = true, path = true, args = true, restart = true, supervise = true,
  inbox = true, memory = true, instructions = true, timeout = true,
}

local function fail(where, text, ...)
  error(format("%s: " .. text, where, ...), 0)
end

local function check_keys(t, known, where)
  for k in pairs(t) do
    if type(k) ~= "string" or not known[k] then
      fail(where, "unknown option %s", type(k) == "string"
        and "'" .. k .. "'" or tostring(k))
    end
  end
end

-- kind: "positive" or "non-negative", with " integer" for an integer.
local function number_option(t, key, where, kind)
  local v = t[key]
  if v == nil then return nil end
  local positive = kind:find("^positive") ~= nil
  if type(v) ~= "number" or v ~= v or v == math.huge or v < 0
      or (positive and v == 0)
      or (kind:find("integer") and math.type(v) ~= "integer") then
    fail(where, "option '%s' must be a %s number", key, kind)
  end
  return v
end

local check_spec

local function check_child(c, where)
  if type(c) ~= "table" then fail(where, "a child spec must be a table") end
  local named = type(c.name) == "string" and c.name ~= ""
  if named then where = format("%s (child '%s')", where, c.name) end
  check_keys(c, child_options, where)
  if not named then fail(where, "option 'name' must be a non-empty string") end
  if (c.path == nil) == (c.supervise == nil) then
    fail(where, "give either 'path' or 'supervise'")
  end
  if c.path ~= nil and type(c.path) ~= "string" then
    fail(where, "option 'path' must be a string")
  end
  if c.supervise ~= nil then check_spec(c.supervise, where .. ": supervise") end
  if c.args ~= nil and type(c.args) ~= "table" then
    fail(where, "option 'args' must be a table")
  end
  if c.restart ~= nil and not restart_modes[c.restart] then
    fail(where, "option 'restart' must be 'permanent', 'transient' or " ..
      "'temporary'")
  end
  number_option(c, "inbox", where, "positive integer")
  number_option(c, "memory", where, "positive")
  number_option(c, "instructions", where, "positive")
  number_option(c, "timeout", where, "positive")
end

function check_spec(spec, where)
  if type(spec) ~= "table" then fail(where, "the spec must be a table") end
  check_keys(spec, spec_options, where)
  if spec.strategy ~= nil and not strategies[spec.strategy] then
    fail(where, "option 'strategy' must be 'one_for_one', 'one_for_all' or " ..
      "'rest_for_one'")
  end
  number_option(spec, "intensity", where, "non-negative integer")
  number_option(spec, "period", where, "positive")
  number_option(spec, "backoff_min", where, "non-negative")
  number_option(spec, "backoff_max", where, "non-negative")
  local jitter = number_option(spec, "jitter", where, "non-negative")
  if jitter and jitter > 1 then fail(where, "option 'jitter' must be at most 1") end
  if type(spec.children) ~= "table" then
    fail(where, "option 'children' must be a list of child specs")
  end
  local names = {}
  for i, c in ipairs(spec.children) do
    check_child(c, format("%s: children[%d]", where, i))
    if names[c.name] then
      fail(where, "children[%d]: the name '%s' is used twice", i, c.name)
    end
    names[c.name] = true
  end
  for k in pairs(spec.children) do
    if math.type(k) ~= "integer" or k < 1 or k > #spec.children then
      fail(where, "option 'children' must be a list of child specs")
    end
  end
end

if mode == "library" then
  local spawn = given
  return function(spec)
    check_spec(spec, "worker.supervise")
    local sup = spawn(spec)
    -- A supervisor answers its first call once its children have started,
    -- or ends with the reason none could.
    local ok = pcall(worker.call, sup, "which")
    if not ok then
      local _, err = worker.join(sup)
      error(type(err) == "table" and err.message or tostring(err), 2)
    end
    return sup
  end
end

-- ---- the supervisor

local spec = given
check_spec(spec, "worker.supervise")
local strategy = spec.strategy or "one_for_one"
-- troupe::restart_policy's defaults.
local intensity = spec.intensity or 10
local period = spec.period or 10
local backoff_min = spec.backoff_min or 0
local backoff_max = spec.backoff_max or 5
local jitter = spec.jitter or 0.1

local me = worker.self()
local children = {}   -- in start order
local by_handle = {}  -- the running ones
local history = {}    -- times of restarts within the period
local pending = {}    -- restart groups waiting out a backoff, by number
local next_group = 1

local function index_of(c)
  for i, x in ipairs(children) do
    if x == c then return i end
  end
end

local function find(name)
  for _, c in ipairs(children) do
    if c.name == name then return c end
  end
end

local function launch(c)
  local s = c.spec
  local ok, h
  if s.supervise then
    ok, h = pcall(worker.supervise, s.supervise)
  else
    ok, h = pcall(worker.create, {
      path = s.path, args = s.args, inbox = s.inbox, memory = s.memory,
      instructions = s.instructions, timeout = s.timeout,
    })
  end
  if not ok then return nil, h end
  worker._bind(c.name, h)
  worker.monitor(h)
  c.handle, c.started, by_handle[h] = h, worker.time(), c
  return true
end

-- Ends a running child: a supervisor first ends its own children.
local function terminate(c)
  local h = c.handle
  if not h then return end
  by_handle[h], c.handle = nil, nil
  if c.spec.supervise then pcall(worker.call, h, "shutdown", 5) end
  worker.cancel(h)
  worker.join(h)
end

local function terminate_all()
  for i = #children, 1, -1 do terminate(children[i]) end
end

local function describe(err)
  if type(err) == "table" then return tostring(err.message) end
  return tostring(err)
end

local on_failure

-- Restarts the group's children, in start order; those stopped meanwhile are
-- skipped.
local function restart(group)
  for _, c in ipairs(group) do
    if c.waiting == group and index_of(c) then
      c.waiting = nil
      c.restarts = c.restarts + 1
      local ok, err = launch(c)
      if not ok then
        c.started = nil
        return on_failure(c, err)
      end
    end
  end
end

local function give_up(c, err)
  terminate_all()
  worker._give_up(format(
    "supervisor gave up: child '%s' failed (%s), more than %d restarts in %g s",
    c.name, describe(err), intensity, period))
end

-- Child `c` has ended (ok: it returned), or could not be started again.
function on_failure(c, err, ok)
  local now = worker.time()
  if ok or (c.started and now - c.started > backoff_max) then c.streak = 0 end
  if not ok then c.streak = c.streak + 1 end
  local mode = c.spec.restart or "permanent"
  if mode == "temporary" or (mode == "transient" and ok) then
    worker._release(c.name)
    if mode == "temporary" then table.remove(children, index_of(c)) end
    return
  end
  history[#history + 1] = now
  while now - history[1] > period do table.remove(history, 1) end
  if #history > intensity then return give_up(c, err) end
  local group, at = {}, index_of(c)
  for i, x in ipairs(children) do
    if x == c or strategy == "one_for_all"
        or (strategy == "rest_for_one" and i > at) then
      group[#group + 1] = x
    end
  end
  for i = #group, 1, -1 do
    if group[i] ~= c then terminate(group[i]) end
  end
  for _, x in ipairs(group) do x.waiting = group end
  local delay = ok and 0 or worker._backoff(backoff_min, backoff_max, jitter,
    c.streak, math.random() * 2 - 1)
  if delay <= 0 then return restart(group) end
  pending[next_group] = group
  worker.after(delay, { restart = next_group })
  next_group = next_group + 1
end

local function add(s)
  local c = { spec = s, name = s.name, restarts = 0, streak = 0 }
  local held = worker._hold(s.name)
  if not held then return nil, format("the name '%s' is taken", s.name) end
  local ok, err = launch(c)
  if not ok then
    worker._release(s.name)
    return nil, describe(err)
  end
  children[#children + 1] = c
  return c
end

local function which()
  local list = {}
  for i, c in ipairs(children) do
    list[i] = { name = c.name, worker = c.handle, restarts = c.restarts }
  end
  return list
end

local function stop(name)
  local c = find(name)
  if not c then return false, format("no child named '%s'", tostring(name)) end
  terminate(c)
  c.waiting = nil
  worker._release(c.name)
  table.remove(children, index_of(c))
  return true
end

local function start(s)
  local ok, err = pcall(check_child, s, "start")
  if not ok then return nil, err end
  local old = find(s.name)
  if old and (old.handle or old.waiting) then
    return nil, format("start: a child named '%s' exists", s.name)
  end
  -- One that ended for good (transient) makes room for the new spec.
  if old then table.remove(children, index_of(old)) end
  local c, why = add(s)
  if not c then return nil, "start: " .. why end
  return c.handle
end

local function answer(request)
  if request == "which" then return which() end
  if type(request) == "table" then
    if request.stop ~= nil and next(request, next(request)) == nil then
      return stop(request.stop)
    end
    if request.start ~= nil and next(request, next(request)) == nil then
      return start(request.start)
    end
  end
  return nil, "unknown request (ask \"which\", {stop = name}, " ..
    "{start = child_spec} or \"shutdown\")"
end

-- A supervised child's worker.message goes on to this supervisor's parent;
-- while the parent's queue of them is full, it waits for room.
local function pass_on(msg)
  while not pcall(worker.message, msg) do
    if worker.status(worker.parent()) == "dead" then return end
    worker.sleep(0.01)
  end
end

for i, s in ipairs(spec.children) do
  local c, why = add(s)
  if not c then
    terminate_all()
    error(format("worker.supervise: children[%d] (child '%s'): %s", i, s.name,
      why), 0)
  end
end

local function handle(msg, from, call, kind)
  if kind == "down" then
    local c = by_handle[from]
    if c then
      by_handle[from], c.handle = nil, nil
      on_failure(c, msg.error, msg.ok)
    end
  elseif kind == "child" then
    pass_on(msg)
  elseif from == me and type(msg) == "table" and pending[msg.restart] then
    local group = pending[msg.restart]
    pending[msg.restart] = nil
    restart(group)
  elseif msg == "shutdown" then
    terminate_all()
    if call then worker.reply(call, true) end
    return true
  elseif call then
    worker.reply(call, answer(msg))
  elseif type(msg) == "table" then
    answer(msg)
  end
end

-- worker.supervise waits on its first call: it is answered before anything
-- else, so the caller gets a handle whenever the children started.
local parent, early = worker.parent(), {}
while true do
  local msg, from, call, kind = worker.peek()
  if msg == nil then return terminate_all() end
  if call and from == parent and msg == "which" and kind == "message" then
    worker.reply(call, which())
    break
  end
  early[#early + 1] = { msg, from, call, kind }
end
for _, e in ipairs(early) do
  if handle(e[1], e[2], e[3], e[4]) then return end
end
early = nil

while true do
  local msg, from, call, kind = worker.peek()
  -- The parent has gone: so does the tree.
  if msg == nil then return terminate_all() end
  if handle(msg, from, call, kind) then return end
end
