-- permissions: load fs:read=.
-- expect: module 'socket.core' not found
-- Even with load, require finds Lua files only, never a C module.
require('socket.core')
