--[[
  Releases the rebuild lock, only if this caller still owns it.

    Input:
      KEYS[1]  rebuildLock
      ARGV[1]  the owner's token

    Output:
      1 when released, 0 when the lock was gone or owned by another caller
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
