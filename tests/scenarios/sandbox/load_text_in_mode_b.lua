-- expect: attempt to load a text chunk (mode is 'b')
-- Mode "b" refuses text, as in plain Lua.
local f, err = load("return 1", "x", "b")
assert(f == nil)
error(err, 0)
