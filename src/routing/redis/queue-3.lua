--[[
  Reads a page of the queue in order (position 1 first): O(log n + count), never the whole queue
  unless asked for it (the reconciler's and tests' full read).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)
      ARGV[1]  offset (0-based), default 0
      ARGV[2]  count, default all (-1)

    Output:
      flat array {conversationId, "queueSeq|customerId|queuedAt|version", ...}, in queue order
      error "NOSTATE ..." when the epoch key is missing
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local offset = tonumber(ARGV[1] or '0')
local count = tonumber(ARGV[2] or '-1')
local stop = -1
if count >= 0 then stop = offset + count - 1 end
if count == 0 then return {} end
local ids = redis.call('ZRANGE', KEYS[2], offset, stop)
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
