-- One part of examples/json.lua: its number and square, sent as JSON text.
local json = require "dkjson"
local n = ...
worker.message(json.encode({n = n, square = n * n}, {keyorder = {"n", "square"}}))
