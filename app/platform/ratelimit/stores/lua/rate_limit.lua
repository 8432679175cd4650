-- Check every rate limit of one request, then count the request in all of them or in none.
-- Weighted two-bucket sliding window (docs/decisions/0001-rate-limit-window.md); the numbers
-- match app/platform/ratelimit/window.py step for step.
--
-- KEYS[i], i <= n  one hash per limit: w = current bucket index, c = its count, p = previous
--                   bucket's count
-- ARGV[1]  cost of this request (normally 1)
-- ARGV[2]  n, the number of limits
-- ARGV[2i+1], ARGV[2i+2]  limit and window (ms) of KEYS[i]
-- With a block check (docs/rate-limits.md "Blocks"), three more keys and six more arguments:
-- KEYS[n+1] the client's block (hash: client, reason, blocked_at, expires_at, level; its TTL
--           is the block), KEYS[n+2] its rejection count, KEYS[n+3] its repeat level.
-- They carry the client's hash tag, which is the counters' tag, so one call is one slot on a
-- Redis Cluster; the index of blocks (another slot) is written by the caller afterwards.
-- ARGV[2n+3..2n+8]  rejections before a block, their window (ms), the first block (ms),
--                   the longest block (ms), the client, the reason
-- Returns {allowed (1/0), block state (0 none, 1 refused while blocked, 2 blocked now),
--          block ms left, block level, then per key: remaining, retry_ms, rollover_ms}
-- (no per-key values when the client was blocked already: nothing was read or counted)
local EPSILON = 1e-9
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local blocking = #KEYS > n

if blocking then
  local left = redis.call('PTTL', KEYS[n + 1])
  if left > 0 then
    local level = tonumber(redis.call('HGET', KEYS[n + 1], 'level')) or 1
    return {0, 1, left, level}
  end
end

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
  local limit = tonumber(ARGV[2 * i + 1])
  local window = tonumber(ARGV[2 * i + 2])
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

local block_state, block_ms, block_level = 0, 0, 0
if blocking and allowed == 0 then
  local b = 2 * n + 3
  local after, strike_window = tonumber(ARGV[b]), tonumber(ARGV[b + 1])
  local first_ms, longest_ms = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local strikes = redis.call('INCR', KEYS[n + 2])
  if strikes == 1 then
    redis.call('PEXPIRE', KEYS[n + 2], strike_window)
  end
  if strikes >= after then
    redis.call('DEL', KEYS[n + 2])
    -- The level key outlives each block by the longest block: a repeat within that doubles.
    block_level = math.min(redis.call('INCR', KEYS[n + 3]), 30)
    block_ms = math.min(first_ms * 2 ^ (block_level - 1), math.max(longest_ms, first_ms))
    block_ms = math.floor(block_ms)
    redis.call('PEXPIRE', KEYS[n + 3], block_ms + math.max(longest_ms, first_ms))
    local expires = now + block_ms
    redis.call('DEL', KEYS[n + 1])
    redis.call('HSET', KEYS[n + 1], 'client', ARGV[b + 4], 'reason', ARGV[b + 5],
      'blocked_at', now, 'expires_at', expires, 'level', block_level)
    redis.call('PEXPIRE', KEYS[n + 1], block_ms)
    block_state = 2
  end
end

local out = {allowed, block_state, block_ms, block_level}
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
