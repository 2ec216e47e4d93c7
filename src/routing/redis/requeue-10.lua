--[[
  Puts an assigned conversation back in the queue at its original place (its queue_seq), freeing
  fromRep's slot, then dispatches; excludeRep is not offered this conversation in that dispatch.
  A stale version changes nothing (it would drop a later hold of the same conversation).

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
      ARGV[6]  fromRepId
      ARGV[7]  excludeRepId, or "" for none

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
if not isStale(conversationId, ARGV[5]) then
  releaseHold(conversationId, ARGV[6])
  insertEntry(conversationId, ARGV[2], ARGV[3], ARGV[4], ARGV[5])
end
local excludeRep = nil
if ARGV[7] ~= '' then excludeRep = ARGV[7] end
return dispatch(conversationId, excludeRep)
