--[[
  Counts a hit in a fixed window that opens at the key's first hit.

    Input:
      KEYS[1]  window   string counter, expiring when the window ends
      ARGV[1]  window length in ms
      ARGV[2]  how much to add

    Output:
      {count after the hit, ms until the window ends}
]]
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
