-- Give a reservation's units back (its SQL insert failed, or it expired without a row).
-- A reservation is released at most once: the HDEL is the guard.
-- KEYS: 1 stock  2 reservations  3 buyers  4 events  5 version  6 idempotency  7 meta
-- ARGV: 1 purchase id  2 now (ms)  3 stream max length  4 reason
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry then return {'GONE'} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'MISSING'} end
local qty, _, idem, user = string.match(entry, '^(%d+)|(%d+)|(%x*)|(.*)$')
qty = tonumber(qty)
redis.call('HDEL', KEYS[2], ARGV[1])
local left = redis.call('INCRBY', KEYS[1], qty)
local limit = tonumber(redis.call('HGET', KEYS[7], 'limit') or '0')
if limit > 0 then redis.call('HINCRBY', KEYS[3], user, -qty) end
redis.call('INCR', KEYS[5])
if idem ~= '' then
  -- Only the in-flight marker of this very purchase is cleared, so the buyer may retry.
  local marker = redis.call('GET', KEYS[6])
  if marker and string.sub(marker, 1, 2) == 'P|' and string.sub(marker, -#ARGV[1]) == ARGV[1] then
    redis.call('DEL', KEYS[6])
  end
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'kind', ARGV[4], 'delta', tostring(qty),
  'stock', tostring(left), 'purchase_id', ARGV[1], 'user', user, 'at', ARGV[2])
return {'RELEASED', tostring(left)}
