-- A client of the rate limiter: tries `tries` requests for `key` as fast as it can and returns how many the
-- limiter let through. Taking a token is one atomic decrement of the shared bucket; a request that finds it
-- empty gives the token back and is limited.
local key, tries, burst = ...
local buckets = worker.shared("limits")
local allowed = 0
for _ = 1, tries do
  local left = buckets:incr(key, -1, burst)
  if left >= 0 then
    allowed = allowed + 1
  else
    buckets:incr(key, 1)
  end
end
return allowed
