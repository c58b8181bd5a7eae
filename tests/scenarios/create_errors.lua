-- create raises in the caller: missing file, syntax error with file:line, unsendable argument with its path,
-- bad options.
local function create_error(...)
  local ok, err = pcall(worker.create, ...)
  assert(not ok)
  return err
end
assert(create_error("workers/missing.lua"):find("worker.create: cannot open .*workers/missing.lua"))
assert(create_error("workers/syntax_error.lua"):find("worker.create: .*workers/syntax_error.lua:1: unexpected symbol near '='"))
assert(create_error("workers/echo.lua", 1, {a = {b = print}})
  == "worker.create: argument #3 (field 'a.b') is a function; only nil, booleans, numbers, strings and tables can be sent")
assert(create_error{path = "workers/echo.lua", args = {1, {x = coroutine.create(print)}}}
  == "worker.create: argument #1 (field 'args[2].x') is a thread; only nil, booleans, numbers, strings and tables can be sent")
assert(create_error{path = "workers/echo.lua", colour = "red"}:find("worker.create: unknown option 'colour'"))
assert(create_error{args = {}}:find("option 'path' must be a string"))
assert(create_error(nil):find("bad argument #1 to 'worker.create'"))
local w = worker.create{path = "workers/returns.lua", args = {"x", 2}}
local ok, x, two = worker.join(w)
assert(ok and x == "x" and two == 2)
print("scenario ok")
