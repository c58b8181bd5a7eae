-- expect: whose __tostring failed: it did not finish
error(setmetatable({}, {__tostring = function() while true do end end}))
