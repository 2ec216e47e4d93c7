--[[
  Drops a conversation that left routing (closed, abandoned): from the queue, and from any rep's
  slot it holds; a final one's version is forgotten too. Does not dispatch.

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  queuedAt   zset conversationId -> queued_at
      KEYS[4]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)
      KEYS[5]  held       hash conversationId -> "repId|queueSeq|customerId|queuedAt|version"
      KEYS[6]  versions   hash conversationId -> highest version seen (its field is dropped when the
                          conversation is final, so the hash does not grow with every conversation)
      KEYS[7]  reps       hash repId -> "status|maxCapacity|load|lastAssignedAt"
      KEYS[8]  eligible   zset of the reps online with a free slot, in policy order
      KEYS[9]  repHeld    zset "<repId, 20 digits>:<conversationId>" (score 0): what each rep holds

      ARGV[1]  conversationId
      ARGV[2]  "1" when the conversation is final (closed): its version is forgotten too

    Output:
      1 when something was dropped, 0 otherwise
      error "NOSTATE ..." when the epoch key is missing (nothing changed)
]]
local K = {
  epoch = KEYS[1], queue = KEYS[2], queuedAt = KEYS[3], entries = KEYS[4], held = KEYS[5],
  versions = KEYS[6], reps = KEYS[7], eligible = KEYS[8], repHeld = KEYS[9],
}
--- @include "includes/state"

if redis.call('EXISTS', K.epoch) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local unqueued = unqueue(ARGV[1])
local released = releaseHold(ARGV[1], nil)
if ARGV[2] == '1' then redis.call('HDEL', K.versions, ARGV[1]) end
if unqueued or released then return 1 end
return 0
