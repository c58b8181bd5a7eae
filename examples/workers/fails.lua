-- Fails on purpose.
local function check(x)
  if x < 0 then error("negative input: " .. x) end
end
check(-1)
