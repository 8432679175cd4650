-- PURCHASE_STRATEGY=lock: the caller holds the product's lock and has already read and checked
-- the stock, so this only writes: decrement, reservation, event. It still refuses to go below
-- zero, so a lock lost to its TTL cannot oversell.
-- KEYS: 1 stock  2 meta  3 buyers  4 reservations  5 events  6 version
--       7 cancelled (see purchase.lua: a call that ran late after its purchase was cancelled)
-- ARGV: 1 user  2 quantity  3 purchase id  4 now (ms)  5 reservation expiry (ms)
--       6 stream max length  7 fencing token
local qty = tonumber(ARGV[2])
if redis.call('ZSCORE', KEYS[7], ARGV[3]) then return {'CANCELLED'} end
local stock = redis.call('GET', KEYS[1])
if not stock then return {'MISSING'} end
if tonumber(stock) < qty then return {'INSUFFICIENT', stock} end
local left = redis.call('DECRBY', KEYS[1], qty)
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit') or '0')
if limit > 0 then redis.call('HINCRBY', KEYS[3], ARGV[1], qty) end
redis.call('HSET', KEYS[4], ARGV[3], ARGV[2] .. '|' .. ARGV[5] .. '||' .. ARGV[1])
redis.call('INCR', KEYS[6])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', 'kind', 'purchase', 'delta', tostring(-qty),
  'stock', tostring(left), 'purchase_id', ARGV[3], 'user', ARGV[1], 'at', ARGV[4],
  'fence', ARGV[7])
return {'OK', tostring(left)}
