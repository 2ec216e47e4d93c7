--[[
  Extends leases (and puts back any that a flush or an expiry removed), by Redis's clock.

    Input:
      KEYS[1]  leases   zset holder -> lease end (ms, Redis time)
      ARGV[1]  lease length in ms
      ARGV[2..] holders

    Output:
      how many leases the key holds afterwards
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return redis.call('ZCARD', KEYS[1])
