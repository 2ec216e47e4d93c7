--[[
  An admitted conversation's enqueue committed: its pending entry may now be proposed; then dispatches.
  Only confirms: an entry that is gone (a close or an abandon took it out meanwhile, or a rebuild erased
  it) is NOT put back here, since only the store can say which; the caller reads the store and enqueues
  it again (enqueueAndDispatch) only if it is still queued at this version.

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

    Output:
      {1 when the entry was there (pending or not), 0 when it was gone; proposals, in order}
      error "NOSTATE ..." when the epoch key is missing (nothing changed)
]]
local K = {
  epoch = KEYS[1], queue = KEYS[2], queuedAt = KEYS[3], entries = KEYS[4], held = KEYS[5],
  versions = KEYS[6], reps = KEYS[7], eligible = KEYS[8], clock = KEYS[9], repHeld = KEYS[10],
}
--- @include "includes/dispatch"

if redis.call('EXISTS', K.epoch) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local present = 0
if redis.call('HEXISTS', K.entries, ARGV[1]) == 1 then
  present = 1
  confirmEntry(ARGV[1])
end
return { present, dispatch(nil, nil) }
