-- The smallest troupe script: print a greeting, using the arguments when there are any.
local who = ... or "world"
print("Hello, " .. who .. " from " .. _VERSION .. "!")
