-- expect: attempt to load a binary chunk
-- string.dump works, but what it makes can never be loaded back.
local chunk = string.dump(function() return 1 end)
local f, err = load(chunk)
assert(f == nil)
error(err, 0)
