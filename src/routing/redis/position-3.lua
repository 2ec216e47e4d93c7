--[[
  Reads one conversation's place in the queue in O(log n).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)
      ARGV[1]  conversationId

    Output:
      {position (1 is next) or 0 when not queued, queue length}
      error "NOSTATE ..." when the epoch key is missing
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
local position = 0
if rank then position = rank + 1 end
return { position, redis.call('ZCARD', KEYS[2]) }
