--[[
  Takes one of a bounded number of leases, by Redis's clock (instances' clocks may differ).

    Input:
      KEYS[1]  leases   zset holder -> lease end (ms, Redis time)
      ARGV[1]  holder
      ARGV[2]  most leases the key may hold
      ARGV[3]  lease length in ms

    Output:
      1 when taken (or already held), 0 when every place is taken
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
