-- The purchase's SQL row is committed: settle its reservation and remember the response for
-- Idempotency-Key replays. If the reservation is gone (Redis restarted empty, or the reconciler
-- returned it as expired) and a stock rebuild did not count the row, the units are taken again.
-- A purchase voided meanwhile (its row was deleted after this call timed out; the call ran
-- late) settles nothing: CANCELLED.
-- KEYS: 1 stock  2 reservations  3 settled  4 buyers  5 events  6 version  7 idempotency  8 meta
--       9 cancelled
-- ARGV: 1 purchase id  2 user  3 quantity  4 now (ms)  5 settled retention (ms)
--       6 idempotency hash ('' = none)  7 fingerprint  8 response JSON  9 idempotency TTL (ms)
--       10 stream max length
if redis.call('ZSCORE', KEYS[9], ARGV[1]) then return {'CANCELLED'} end
local outcome
if redis.call('HDEL', KEYS[2], ARGV[1]) == 1 then
  outcome = 'CONFIRMED'
elseif redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  outcome = 'COUNTED'
else
  local stock = redis.call('GET', KEYS[1])
  if not stock then return {'MISSING'} end
  local qty = tonumber(ARGV[3])
  if tonumber(stock) < qty then return {'OVERSOLD', stock} end
  local left = redis.call('DECRBY', KEYS[1], qty)
  local limit = tonumber(redis.call('HGET', KEYS[8], 'limit') or '0')
  if limit > 0 then redis.call('HINCRBY', KEYS[4], ARGV[2], qty) end
  redis.call('INCR', KEYS[6])
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[10], '*', 'kind', 'retake', 'delta',
    tostring(-qty), 'stock', tostring(left), 'purchase_id', ARGV[1], 'user', ARGV[2], 'at', ARGV[4])
  outcome = 'RETAKEN'
end
local now = tonumber(ARGV[4])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[5]))
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[7], 'D|' .. ARGV[7] .. '|' .. ARGV[8], 'PX', ARGV[9])
end
return {outcome}
