-- Set a product's stock to the reconciler's computed value, but only if nothing changed the
-- stock since the reconciler's snapshot (the version counter moves on every stock change).
-- KEYS: 1 stock  2 version  3 events
-- ARGV: 1 snapshot version  2 new stock  3 now (ms)  4 stream max length
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return {'BUSY'} end
local old = redis.call('GET', KEYS[1])
if not old then return {'MISSING'} end
if old == ARGV[2] then return {'SAME', old} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'kind', 'reconcile', 'delta',
  tostring(tonumber(ARGV[2]) - tonumber(old)), 'stock', ARGV[2], 'at', ARGV[3])
return {'REPAIRED', old}
