-- expect: attempt to load a binary chunk
-- Asking for binary mode changes nothing: load is text only.
local f, err = load(string.dump(function() return 1 end), "x", "b")
assert(f == nil)
error(err, 0)
