--[[
  Moves a held conversation from one rep's slot to another's, atomically, then dispatches the slot
  that fromRep freed. Refused (nothing changes) unless fromRep holds it and toRep is another rep,
  online, with a free slot.

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  queuedAt   zset conversationId -> queued_at
      KEYS[4]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)
      KEYS[5]  held       hash conversationId -> "repId|queueSeq|customerId|queuedAt|version"
      KEYS[6]  reps       hash repId -> "status|maxCapacity|load|lastAssignedAt"
      KEYS[7]  eligible   zset of the reps online with a free slot, in policy order
      KEYS[8]  clock      string, last lastAssignedAt stamp
      KEYS[9]  repHeld    zset "<repId, 20 digits>:<conversationId>" (score 0): what each rep holds

      ARGV[1]  conversationId
      ARGV[2]  fromRepId
      ARGV[3]  toRepId

    Output:
      {1, proposals} when moved, {0, {}, "conversation"} when fromRepId does not hold it (or is toRepId),
      {0, {}, "rep"} when toRepId is not online with a free slot; proposals as in dispatch:
      {conversationId, repId, "queueSeq|customerId|queuedAt|version"}
      error "NOSTATE ..." when the epoch key is missing (nothing changed)
]]
local K = {
  epoch = KEYS[1], queue = KEYS[2], queuedAt = KEYS[3], entries = KEYS[4], held = KEYS[5],
  reps = KEYS[6], eligible = KEYS[7], clock = KEYS[8], repHeld = KEYS[9],
}
--- @include "includes/dispatch"

if redis.call('EXISTS', K.epoch) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local conversationId, fromRepId, toRepId = ARGV[1], ARGV[2], ARGV[3]
local holder, packed = holderOf(conversationId)
if not holder or tonumber(holder) ~= tonumber(fromRepId) or tonumber(toRepId) == tonumber(fromRepId) then
  return { 0, {}, 'conversation' }
end
local to = readRep(toRepId)
if not to or to.status ~= 'online' or to.load >= to.max then return { 0, {}, 'rep' } end

releaseHold(conversationId, fromRepId)
to.load = to.load + 1
to.last = nextStamp()
writeRep(to)
hold(conversationId, to.id, packed)
return { 1, dispatch(nil, nil) }
