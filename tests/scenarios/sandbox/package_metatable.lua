-- expect: cannot change a protected metatable
-- package's fields come from a protected metatable, which a script cannot replace.
setmetatable(package, {__index = function() return "mine" end})
