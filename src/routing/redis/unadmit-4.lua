--[[
  Takes back an admission whose enqueue did not commit: the entry goes only while it is still pending (at
  that queue_seq, when one is given), so an entry another instance's enqueue of the same conversation has
  committed and confirmed meanwhile stays. Does not dispatch (a pending entry held no slot).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  queuedAt   zset conversationId -> queued_at
      KEYS[4]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)

      ARGV[1]  conversationId
      ARGV[2]  queue_seq it was admitted at, or "" (the admission's answer was lost)

    Output:
      1 when a pending entry was taken out, 0 otherwise
      error "NOSTATE ..." when the epoch key is missing (nothing changed)
]]
local K = { epoch = KEYS[1], queue = KEYS[2], queuedAt = KEYS[3], entries = KEYS[4] }
--- @include "includes/state"

if redis.call('EXISTS', K.epoch) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local packed = redis.call('HGET', K.entries, ARGV[1])
if not isPending(packed) then return 0 end
if ARGV[2] ~= '' and tonumber(redis.call('ZSCORE', K.queue, ARGV[1])) ~= tonumber(ARGV[2]) then return 0 end
unqueue(ARGV[1])
return 1
