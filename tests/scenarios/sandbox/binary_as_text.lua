-- expect: attempt to load a binary chunk
-- A binary chunk fed through a reader function, piece by piece.
local chunk = string.dump(function() return 1 end)
local i = 0
local f, err = load(function()
  i = i + 1
  return chunk:sub(i, i)
end)
assert(f == nil)
error(err, 0)
