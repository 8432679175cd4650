-- Check every rate limit of one request, then count the request in all of them or in none.
-- Weighted two-bucket sliding window (docs/decisions/0001-rate-limit-window.md); the numbers
-- match app/platform/ratelimit/window.py step for step.
--
-- KEYS[i]  one hash per limit: w = current bucket index, c = its count, p = previous bucket's count
-- ARGV[1]  cost of this request (normally 1)
-- ARGV[2i], ARGV[2i+1]  limit and window (ms) of KEYS[i]
-- Returns {allowed (1/0), then per key: remaining, retry_ms, rollover_ms}
local EPSILON = 1e-9
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local n = #KEYS

local function weighted(prev, curr, elapsed, window)
  return prev * (window - elapsed) / window + curr
end

local function retry(prev, curr, elapsed, window, limit)
  if cost > limit then
    return 2 * window
  end
  if weighted(prev, curr, elapsed, window) + cost <= limit + EPSILON then
    return 0
  end
  local wait
  if curr + cost <= limit then
    wait = window - elapsed - (limit - cost - curr) * window / prev
  else
    wait = window - elapsed + window - (limit - cost) * window / curr
  end
  return math.max(1, math.ceil(wait))
end

local state = {}
local allowed = 1
for i = 1, n do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  local bucket = math.floor(now / window)
  local h = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
  local w = tonumber(h[1])
  local prev, curr = 0, 0
  if w == bucket then
    curr = tonumber(h[2]) or 0
    prev = tonumber(h[3]) or 0
  elseif w == bucket - 1 then
    prev = tonumber(h[2]) or 0
  end
  local elapsed = now - bucket * window
  if weighted(prev, curr, elapsed, window) + cost > limit + EPSILON then
    allowed = 0
  end
  state[i] = {limit, window, bucket, prev, curr, elapsed, w == bucket}
end

local out = {allowed}
for i = 1, n do
  local s = state[i]
  local limit, window, bucket, prev, curr, elapsed = s[1], s[2], s[3], s[4], s[5], s[6]
  if allowed == 1 then
    curr = curr + cost
    if s[7] then
      -- Same bucket: only the count moves, and the expiry set when the bucket began holds.
      redis.call('HSET', KEYS[i], 'c', curr)
    else
      redis.call('HSET', KEYS[i], 'w', bucket, 'c', curr, 'p', prev)
      -- Kept while it can still weigh in: to the end of the next bucket.
      redis.call('PEXPIREAT', KEYS[i], (bucket + 2) * window)
    end
  end
  local left = math.floor(limit - weighted(prev, curr, elapsed, window) + EPSILON)
  if left < 0 then
    left = 0
  end
  out[#out + 1] = left
  out[#out + 1] = retry(prev, curr, elapsed, window, limit)
  out[#out + 1] = window - elapsed
end
return out
