-- worker.call round trips: the parent calls one worker with {id = i, name = "x"}, which replies with it;
-- 100,000 calls (scale with the first argument), the same messages as pingpong.lua. Prints RESULT troupe call
-- <seconds> <rate> calls/s. With "int" second, the message is the integer i (as pingpong_int.lua).
local scale = tonumber((...)) or 1
local ints = select(2, ...) == "int"
local n = math.floor(100000 * scale)
local server = worker.create("call_echo.lua")
local function message(i) if ints then return i end return {id = i, name = "x"} end
assert(worker.call(server, message(0)) ~= nil)
local t0 = worker.time()
local sum = 0
for i = 1, n do
  local r = worker.call(server, message(i))
  local id = ints and r or r.id
  if id ~= i then error("bad reply") end
  sum = sum + id
end
local dt = worker.time() - t0
assert(sum == n * (n + 1) // 2)
print(string.format("RESULT\ttroupe\t%s\t%.6f\t%.3f\tcalls/s", ints and "call_int" or "call", dt, n / dt))
