-- Reserve stock for one purchase, atomically: idempotency, sale window, per-user limit,
-- stock check, decrement, reservation and stock event. Every key shares the {p:<id>} tag.
-- KEYS: 1 stock  2 meta  3 buyers  4 reservations  5 events  6 version  7 idempotency
--       8 cancelled (purchase ids cancelled before their reserve ran: a stalled call woke late)
-- ARGV: 1 user  2 quantity  3 purchase id  4 request fingerprint  5 now (ms)
--       6 reservation expiry (ms)  7 idempotency hash ('' = no key)  8 stream max length
--       9 in-flight marker TTL (ms)
local qty = tonumber(ARGV[2])
local idem = ARGV[7]

if idem ~= '' then
  local prior = redis.call('GET', KEYS[7])
  if prior then
    local state, fp, rest = string.match(prior, '^(%a)|(%x+)|(.*)$')
    if fp ~= ARGV[4] then return {'IDEM_MISMATCH'} end
    if state == 'P' then return {'IDEM_IN_FLIGHT'} end
    return {'REPLAY', rest}
  end
end

-- A retried call (reply lost on the wire) must not take the stock twice.
if redis.call('HEXISTS', KEYS[4], ARGV[3]) == 1 then
  return {'OK', redis.call('GET', KEYS[1]) or '0'}
end
-- This call timed out during a stall and its purchase was answered 503 and cancelled; Redis
-- ran it only now. It must take nothing.
if redis.call('ZSCORE', KEYS[8], ARGV[3]) then return {'CANCELLED'} end

local stock = redis.call('GET', KEYS[1])
local meta = redis.call('HMGET', KEYS[2], 'starts_at', 'ends_at', 'limit')
if not stock or not meta[3] then return {'MISSING'} end
stock = tonumber(stock)

local now = tonumber(ARGV[5])
local starts, ends = tonumber(meta[1] or '0'), tonumber(meta[2] or '0')
if (starts > 0 and now < starts) or (ends > 0 and now >= ends) then
  return {'NOT_ACTIVE'}
end

local limit = tonumber(meta[3])
if limit > 0 then
  local bought = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
  if bought + qty > limit then return {'LIMIT', tostring(bought), tostring(limit)} end
end

if stock < qty then return {'INSUFFICIENT', tostring(stock)} end

local left = redis.call('DECRBY', KEYS[1], qty)
if limit > 0 then redis.call('HINCRBY', KEYS[3], ARGV[1], qty) end
-- quantity|expiry|idempotency hash|user (the user last: it is the only free-form part)
redis.call('HSET', KEYS[4], ARGV[3], ARGV[2] .. '|' .. ARGV[6] .. '|' .. idem .. '|' .. ARGV[1])
redis.call('INCR', KEYS[6])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], '*', 'kind', 'purchase', 'delta', tostring(-qty),
  'stock', tostring(left), 'purchase_id', ARGV[3], 'user', ARGV[1], 'at', ARGV[5])
if idem ~= '' then
  redis.call('SET', KEYS[7], 'P|' .. ARGV[4] .. '|' .. ARGV[3], 'PX', ARGV[9])
end
return {'OK', tostring(left)}
