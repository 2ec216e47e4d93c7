--[[
  Reads the queue in order (position 1 first).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version"

    Output:
      flat array {conversationId, "queueSeq|customerId|queuedAt|version", ...}, in queue order
      error "NOSTATE ..." when the epoch key is missing
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local out = {}
local chunk = 1000
for from = 1, #ids, chunk do
  local to = math.min(from + chunk - 1, #ids)
  local packed = redis.call('HMGET', KEYS[3], unpack(ids, from, to))
  for i = 1, #packed do
    out[#out + 1] = ids[from + i - 1]
    out[#out + 1] = packed[i] or ''
  end
end
return out
