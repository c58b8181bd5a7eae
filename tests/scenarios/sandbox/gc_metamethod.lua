-- expect: __gc metamethods are not allowed
-- A finalizer would run with hooks off, after a limit tripped or at close.
setmetatable({}, {__gc = function() while true do end end})
