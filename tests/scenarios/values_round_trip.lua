-- Every value type survives a trip to a worker and back, integer and float subtypes included.
local all_bytes = {}
for i = 0, 255 do all_bytes[#all_bytes + 1] = string.char(i) end
all_bytes = table.concat(all_bytes)

local cases = {
  0, 1, -1, math.maxinteger, math.mininteger, 3.0, -0.0, 1.5, math.huge, -math.huge, 2^53,
  "", "a\0b", all_bytes, true, false,
  {}, {1, 2, 3}, {x = 1, y = {z = "deep"}}, {1, "two", {three = 3.0}, [10] = "sparse", [2.5] = "f", [true] = 1},
}
local echo = worker.create("workers/echo.lua")
for i, v in ipairs(cases) do
  assert(worker.send(echo, v))
  local back = worker.receive(echo)
  local function same(a, b)
    if type(a) ~= type(b) then return false end
    if type(a) == "number" then
      return math.type(a) == math.type(b) and (a == b) and (a ~= 0 or 1 / a == 1 / b)
    end
    if type(a) ~= "table" then return a == b end
    for k, x in pairs(a) do if not same(x, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  assert(same(v, back), "case " .. i .. " changed on the way")
end
assert(worker.send(echo, 0 / 0))
local nan = worker.receive(echo)
assert(nan ~= nan and math.type(nan) == "float")
print("scenario ok")
