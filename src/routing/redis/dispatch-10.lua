--[[
  Dispatches only: what a gap in queue_seq held back, once its hold has run out (or its late entry arrived).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  queuedAt   zset conversationId -> queued_at
      KEYS[4]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version"
      KEYS[5]  held       hash conversationId -> "repId|queueSeq|customerId|queuedAt|version"
      KEYS[6]  reps       hash repId -> "status|maxCapacity|load|lastAssignedAt"
      KEYS[7]  eligible   zset of the reps online with a free slot, in policy order
      KEYS[8]  clock      string, last lastAssignedAt stamp
      KEYS[9]  repHeld    zset "<repId, 20 digits>:<conversationId>" (score 0): what each rep holds
      KEYS[10] mark       hash w: the queue_seq watermark, since: when the gap above it was first seen (ms), hold (ms)

    Output:
      {proposals, ms left of the current gap's hold (0: none)}
      error "NOSTATE ..." when the epoch key is missing (nothing changed)
]]
local K = {
  epoch = KEYS[1], queue = KEYS[2], queuedAt = KEYS[3], entries = KEYS[4], held = KEYS[5],
  reps = KEYS[6], eligible = KEYS[7], clock = KEYS[8], repHeld = KEYS[9], mark = KEYS[10],
}
--- @include "includes/dispatch"

if redis.call('EXISTS', K.epoch) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local proposals = dispatch(nil, nil)
return { proposals, gapWaitMs }
