-- A token bucket per key in a shared dict: many workers take tokens from the same buckets at once (one atomic
-- incr each), and a timer refills them. Each bucket holds at most `burst` tokens; every refill adds `rate`.
-- Run: troupe run --shared limits=1m examples/rate_limiter.lua
local buckets = worker.shared("limits")
local burst, rate, keys = 5, 2, {"alice", "bob"}

-- Two workers per key try ten requests each, all at once: exactly `burst` get through per key.
local function rush()
  local clients = {}
  for _, key in ipairs(keys) do
    for _ = 1, 2 do clients[#clients + 1] = {key, worker.create("workers/rate_client.lua", key, 10, burst)} end
  end
  local allowed = {}
  for _, c in ipairs(clients) do
    local _, n = worker.join(c[2])
    allowed[c[1]] = (allowed[c[1]] or 0) + n
  end
  for _, key in ipairs(keys) do print(string.format("%s: %d allowed, %d limited", key, allowed[key], 20 - allowed[key])) end
end

-- Adds `rate` tokens to every bucket, never past `burst` (a delta, so takers racing it lose nothing).
local function refill()
  for _, key in ipairs(keys) do
    local n = buckets:incr(key, rate, burst)
    if n > burst then buckets:incr(key, burst - n) end
  end
end

rush()
local timer = worker.every(0.01, "refill")
for _ = 1, 3 do
  repeat until worker.peek() == "refill"
  refill()
end
worker.cancel_timer(timer)
print(string.format("after 3 refills: alice has %d tokens, bob %d", buckets:get("alice"), buckets:get("bob")))
rush()
