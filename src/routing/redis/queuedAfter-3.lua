--[[
  Reads the queued entries with a queue_seq above a cursor, in order, at most `limit`: O(log n + limit).
  Presence follows what entered the queue this way instead of reading the whole queue.

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)
      ARGV[1]  afterSeq (exclusive)
      ARGV[2]  limit (> 0)

    Output:
      flat array {conversationId, "queueSeq|customerId|queuedAt|version", ...}, in queue order
      error "NOSTATE ..." when the epoch key is missing
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local limit = tonumber(ARGV[2])
if limit <= 0 then return {} end
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, limit)
if #ids == 0 then return {} end
local packed = redis.call('HMGET', KEYS[3], unpack(ids))
local out = {}
for i = 1, #ids do
  out[#out + 1] = ids[i]
  out[#out + 1] = packed[i] or ''
end
return out
