-- Compare-and-delete: free the lock only if it still carries the caller's token, so a holder
-- whose lease expired cannot delete the lock a later holder took.
-- KEYS[1] lock key; ARGV[1] token. Returns 1 when deleted, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
