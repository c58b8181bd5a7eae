-- limits: instructions=1e6
-- expect: instruction limit exceeded
-- The handler, called again for every error raised inside it, must not outrun the stop either.
local function forever() while true do end end
while true do xpcall(forever, forever) end
