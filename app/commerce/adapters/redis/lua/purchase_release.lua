-- Give a reservation's units back (its SQL insert failed, or it expired without a row).
-- A reservation is released at most once: the HDEL is the guard.
-- With a cancel deadline (ARGV 5, ms; '0' = none) the purchase id is also refused until then:
-- its reserve call may still be queued in a Redis that stalled (or sent twice by a client
-- retry), and must take nothing when it runs (purchase.lua checks the cancelled set). So a
-- reservation that does not exist yet is cancelled ahead, and one that exists is released.
-- A void (ARGV 6 > 0: the purchase's SQL row was deleted after its confirm timed out) also
-- undoes a confirm that ran after all (its reply was lost, or it sat in a frozen server's
-- buffer) or a rebuild that counted the row before it was deleted: the id leaves `settled`,
-- the units come back, and a stored answer for this purchase is forgotten.
-- KEYS: 1 stock  2 reservations  3 buyers  4 events  5 version  6 idempotency  7 meta
--       8 cancelled  9 settled
-- ARGV: 1 purchase id  2 now (ms)  3 stream max length  4 reason  5 cancel deadline (ms)
--       6 void quantity ('0' = not a void)  7 void user
local cancel = ARGV[5] ~= '0'
if cancel then
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', ARGV[2])
  redis.call('ZADD', KEYS[8], ARGV[5], ARGV[1])
  -- Deadlines only grow (now + one TTL), so the newest one outlives every entry.
  redis.call('PEXPIREAT', KEYS[8], ARGV[5])
end
local entry = redis.call('HGET', KEYS[2], ARGV[1])
local void = tonumber(ARGV[6] or '0')
local qty, idem, user
if entry then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'MISSING'} end
  local q, _, h, u = string.match(entry, '^(%d+)|(%d+)|(%x*)|(.*)$')
  qty, idem, user = tonumber(q), h, u
  redis.call('HDEL', KEYS[2], ARGV[1])
elseif void > 0 then
  -- After an empty restart nothing holds the units, but the rebuild must not count the row:
  -- rebuild first (the row is already deleted), then void again.
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'MISSING'} end
  if redis.call('ZREM', KEYS[9], ARGV[1]) == 0 then return {'CANCELLED'} end
  qty, user = void, ARGV[7]
  local answer = redis.call('GET', KEYS[6])
  if answer and string.sub(answer, 1, 2) == 'D|' and string.find(answer, ARGV[1], 3, true) then
    redis.call('DEL', KEYS[6])
  end
  idem = ''
else
  if cancel then return {'CANCELLED'} end
  return {'GONE'}
end
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
