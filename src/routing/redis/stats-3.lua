--[[
  Reads the queue length and the oldest queued_at, in O(log n).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  queuedAt   zset conversationId -> queued_at

    Output:
      {length, oldest queued_at as a string, or nil when the queue is empty}
      error "NOSTATE ..." when the epoch key is missing
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
return { redis.call('ZCARD', KEYS[2]), oldest[2] or false }
