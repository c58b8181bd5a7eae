-- expect: field 'getregistry'
-- Only debug.traceback exists.
assert(debug.getinfo == nil and debug.sethook == nil and debug.setupvalue == nil)
debug.getregistry()
