--[[
  The conversation left its rep's slot (closed): drops it from the queue if it is there, frees the
  slot if that rep holds it, forgets its version, then dispatches (the freed slot takes the queue head).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  queuedAt   zset conversationId -> queued_at
      KEYS[4]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)
      KEYS[5]  held       hash conversationId -> "repId|queueSeq|customerId|queuedAt|version"
      KEYS[6]  versions   hash conversationId -> highest version seen (its field is dropped: a closed
                          conversation has no later transition, and the store refuses a stale one)
      KEYS[7]  reps       hash repId -> "status|maxCapacity|load|lastAssignedAt"
      KEYS[8]  eligible   zset of the reps online with a free slot, in policy order
      KEYS[9]  clock      string, last lastAssignedAt stamp
      KEYS[10] repHeld    zset "<repId, 20 digits>:<conversationId>" (score 0): what each rep holds

      ARGV[1]  conversationId
      ARGV[2]  repId      the rep that held it

    Output:
      array of proposals {conversationId, repId, "queueSeq|customerId|queuedAt|version"}, in order
      error "NOSTATE ..." when the epoch key is missing (nothing changed)
]]
local K = {
  epoch = KEYS[1], queue = KEYS[2], queuedAt = KEYS[3], entries = KEYS[4], held = KEYS[5],
  versions = KEYS[6], reps = KEYS[7], eligible = KEYS[8], clock = KEYS[9], repHeld = KEYS[10],
}
--- @include "includes/dispatch"

if redis.call('EXISTS', K.epoch) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

unqueue(ARGV[1])
releaseHold(ARGV[1], ARGV[2])
redis.call('HDEL', K.versions, ARGV[1])
return dispatch(nil, nil)
