--[[
  Undoes a proposal the store refused: frees the reserved slot, applies the store's view of the rep
  (status, capacity, lastAssignedAt; the load never drops below the router's own count) and of the
  conversation (back in the queue at its place unless stale, or dropped), then dispatches again.

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

      ARGV[1]  conversationId of the refused proposal
      ARGV[2]  repId of the refused proposal
      ARGV[3]  "1" when a rep fix follows, else "0"
      ARGV[4]  fix: repId
      ARGV[5]  fix: status
      ARGV[6]  fix: maxCapacity
      ARGV[7]  fix: load
      ARGV[8]  fix: lastAssignedAt (ms), or "" for never
      ARGV[9]  "1" when the conversation is to be queued again, else "0" (it is dropped)
      ARGV[10] requeue: conversationId
      ARGV[11] requeue: queueSeq
      ARGV[12] requeue: customerId
      ARGV[13] requeue: queuedAt (ms)
      ARGV[14] requeue: version

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

releaseHold(ARGV[1], ARGV[2])

if ARGV[3] == '1' then
  local current = readRep(ARGV[4])
  local load = tonumber(ARGV[7])
  -- The router's load also counts proposals in flight: a lower store load does not lower it.
  if current and current.load > load then load = current.load end
  local last = tonumber(ARGV[8])
  writeRep({ id = ARGV[4], status = ARGV[5], max = tonumber(ARGV[6]), load = load, last = last })
  noteStamp(last)
end

if ARGV[9] == '1' then
  if not isStale(ARGV[10], ARGV[14]) then
    insertEntry(ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14])
  end
else
  unqueue(ARGV[1])
end
return dispatch(nil, nil)
