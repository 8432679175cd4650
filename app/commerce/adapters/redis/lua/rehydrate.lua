-- Load a product's stock from SQL's ledger, only if the stock key is missing (first load, or a
-- Redis that restarted empty). Never from initial_stock alone:
--   stock = initial + restocks - sum(purchases) - live reservations
-- where live reservations are those whose purchase SQL had not counted (not in `settled`).
-- KEYS: 1 stock  2 meta  3 buyers  4 reservations  5 settled  6 applied restocks  7 events
--       8 version
-- ARGV: 1 base (initial + restocks - sold)  2 initial  3 restocked  4 starts_at (ms, 0 = none)
--       5 ends_at (ms, 0 = none)  6 per-user limit (0 = none)  7 now (ms)  8 stream max length
--       9 n settled ids, then the ids; then n restock ids, then the ids;
--       then n buyers, then user, quantity pairs
-- The immutable product fields are (re)written either way: a lost meta hash heals here.
redis.call('HSET', KEYS[2], 'initial', ARGV[2], 'starts_at', ARGV[4], 'ends_at', ARGV[5],
  'limit', ARGV[6])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HEXISTS', KEYS[2], 'restocked') == 0 then
    redis.call('HSET', KEYS[2], 'restocked', ARGV[3])
  end
  return {'EXISTS', redis.call('GET', KEYS[1]), '0'}
end
local now = tonumber(ARGV[7])
local i = 9
local n = tonumber(ARGV[i])
for j = 1, n do redis.call('ZADD', KEYS[5], now, ARGV[i + j]) end
i = i + n + 1
n = tonumber(ARGV[i])
for j = 1, n do redis.call('SADD', KEYS[6], ARGV[i + j]) end
i = i + n + 1
n = tonumber(ARGV[i])
redis.call('DEL', KEYS[3])
for j = 1, n do
  redis.call('HSET', KEYS[3], ARGV[i + 2 * j - 1], ARGV[i + 2 * j])
end
local limit = tonumber(ARGV[6])
local live = 0
local entries = redis.call('HGETALL', KEYS[4])
for j = 1, #entries, 2 do
  if not redis.call('ZSCORE', KEYS[5], entries[j]) then
    local qty, _, _, user = string.match(entries[j + 1], '^(%d+)|(%d+)|(%x*)|(.*)$')
    live = live + tonumber(qty)
    if limit > 0 then redis.call('HINCRBY', KEYS[3], user, tonumber(qty)) end
  end
end
local stock = tonumber(ARGV[1]) - live
local short = 0
if stock < 0 then
  short = -stock
  stock = 0
end
redis.call('SET', KEYS[1], stock)
redis.call('HSET', KEYS[2], 'restocked', ARGV[3])
redis.call('INCR', KEYS[8])
redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[8], '*', 'kind', 'rehydrate', 'delta', '0',
  'stock', tostring(stock), 'at', ARGV[7])
return {'OK', tostring(stock), tostring(live), tostring(short)}
