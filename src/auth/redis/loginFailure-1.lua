--[[
  Records one failed login for a username, atomically, so that instances share one count.

  KEYS[1]  the username's failure hash ({n, start, last})
  ARGV[1]  now, ms (the caller's clock)
  ARGV[2]  the window, ms

  Returns {n, start, last} after the failure. A failure after the window starts a new one.
]]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local start = tonumber(redis.call('HGET', KEYS[1], 'start') or '-1')
if start < 0 or now >= start + window then
  redis.call('HSET', KEYS[1], 'n', 1, 'start', now, 'last', now)
else
  redis.call('HINCRBY', KEYS[1], 'n', 1)
  redis.call('HSET', KEYS[1], 'last', now)
end
redis.call('PEXPIRE', KEYS[1], window)
return redis.call('HMGET', KEYS[1], 'n', 'start', 'last')
