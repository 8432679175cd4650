-- Take a lock if free and hand out the next fencing token, atomically.
-- KEYS[1] lock key, KEYS[2] fencing counter (same hash tag); ARGV[1] token, ARGV[2] ttl ms.
-- Returns the fencing token (>= 1) when taken, 0 when someone else holds the lock.
-- The counter has no TTL: it must keep growing across every grant of this lock name.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
