-- permissions: load fs:read=.
-- expect: stack overflow
-- A module that requires itself recurses (Lua caches a module only once it has returned) until the C stack
-- limit raises; nothing crashes.
require("require_itself")
