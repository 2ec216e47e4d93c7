--[[
  Counts the live leases of a key, by Redis's clock.

    Input:
      KEYS[1]  leases   zset holder -> lease end (ms, Redis time)

    Output:
      how many leases have not ended
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
