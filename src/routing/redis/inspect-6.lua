--[[
  Reads the whole routing state at one instant, for the reconciler that compares it with the store.

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  held       hash conversationId -> "repId|queueSeq|customerId|queuedAt|version"
      KEYS[4]  reps       hash repId -> "status|maxCapacity|load|lastAssignedAt"
      KEYS[5]  versions   hash conversationId -> highest version seen
      KEYS[6]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)

    Output:
      {queue ids in order, flat {conversationId, repId, ...}, flat {repId, "status|max|load|last", ...},
       number of versions remembered, the pending (admitted, not confirmed) queue ids}
      error "NOSTATE ..." when the epoch key is missing
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local held = {}
local flat = redis.call('HGETALL', KEYS[3])
for i = 1, #flat, 2 do
  held[#held + 1] = flat[i]
  held[#held + 1] = string.match(flat[i + 1], '^([^|]*)')
end
local pending = {}
local entries = redis.call('HGETALL', KEYS[6])
for i = 2, #entries, 2 do
  if string.sub(entries[i], -2) == '|p' then pending[#pending + 1] = entries[i - 1] end
end
return { redis.call('ZRANGE', KEYS[2], 0, -1), held, redis.call('HGETALL', KEYS[4]), redis.call('HLEN', KEYS[5]), pending }
