-- Installed Lua modules work in workers: with Debian's lua-dkjson (scripts/bootstrap installs it), each worker
-- encodes its part as JSON with `require "dkjson"`, found on Lua's standard path without --allow-all, and the
-- parent decodes the answers.
local found, json = pcall(require, "dkjson")
if not found then
  print("dkjson is not installed: skipped")
  return
end
local parts = {}
for i = 1, 3 do parts[i] = worker.create("workers/to_json.lua", i) end
local total = 0
for i = 1, 3 do
  local text = worker.receive(parts[i])
  local item = json.decode(text)
  print(text)
  total = total + item.square
end
print("total of the squares: " .. total)
