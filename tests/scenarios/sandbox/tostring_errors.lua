-- expect: whose __tostring failed: inner
error(setmetatable({}, {__tostring = function() error('inner', 0) end}))
