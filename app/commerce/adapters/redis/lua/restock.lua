-- Add a restock's units once: the restock id is remembered, so a retry or a stock rebuild that
-- already counted it from SQL does not add it twice.
-- KEYS: 1 stock  2 meta  3 applied restocks  4 events  5 version
-- ARGV: 1 restock id  2 quantity  3 now (ms)  4 stream max length
if redis.call('EXISTS', KEYS[1]) == 0 then return {'MISSING'} end
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then
  return {'DUPLICATE', redis.call('GET', KEYS[1])}
end
local left = redis.call('INCRBY', KEYS[1], tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[2], 'restocked', tonumber(ARGV[2]))
redis.call('INCR', KEYS[5])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'kind', 'restock', 'delta', ARGV[2],
  'stock', tostring(left), 'at', ARGV[3])
return {'OK', tostring(left)}
