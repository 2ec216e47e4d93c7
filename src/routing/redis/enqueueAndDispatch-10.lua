--[[
  Adds a conversation to the queue at its place by queue_seq, then dispatches. Idempotent: a
  conversation already queued or held is left where it is, and an older version is ignored. An entry
  that admit placed (pending) is confirmed: from now on dispatch may offer it.

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  queuedAt   zset conversationId -> queued_at
      KEYS[4]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)
      KEYS[5]  held       hash conversationId -> "repId|queueSeq|customerId|queuedAt|version"
      KEYS[6]  versions   hash conversationId -> highest version seen
      KEYS[7]  reps       hash repId -> "status|maxCapacity|load|lastAssignedAt"
      KEYS[8]  eligible   zset of the reps online with a free slot, in policy order
      KEYS[9]  clock      string, last lastAssignedAt stamp
      KEYS[10] repHeld    zset "<repId, 20 digits>:<conversationId>" (score 0): what each rep holds

      ARGV[1]  conversationId
      ARGV[2]  queueSeq
      ARGV[3]  customerId
      ARGV[4]  queuedAt (ms)
      ARGV[5]  version

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

local conversationId = ARGV[1]
if not isStale(conversationId, ARGV[5]) and redis.call('HEXISTS', K.held, conversationId) == 0 then
  -- Already there: an admitted entry whose enqueue has now committed keeps the place it was given.
  if not insertEntry(conversationId, ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then confirmEntry(conversationId) end
end
return dispatch(nil, nil)
