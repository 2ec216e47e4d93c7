--[[
  A rep left (offline) or changed status: frees every slot it holds, sets its status and capacity
  (its load becomes 0), queues the given conversations at their original places (stale versions
  skipped), then dispatches.

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

      ARGV[1]  repId
      ARGV[2]  status (online | away | offline)
      ARGV[3]  maxCapacity
      ARGV[4]  load (unused: the load becomes 0)
      ARGV[5]  lastAssignedAt (ms), or "" for never; kept only when the router has none
      ARGV[6..] the conversations to queue, 5 arguments each:
               conversationId, queueSeq, customerId, queuedAt, version

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

local repId = ARGV[1]
local heldByRep = heldBy(repId)
for i = 1, #heldByRep do releaseHold(heldByRep[i], repId) end

local current = readRep(repId)
local given = tonumber(ARGV[5])
local last = given
if current and current.last then last = current.last end
writeRep({ id = repId, status = ARGV[2], max = tonumber(ARGV[3]), load = 0, last = last })
noteStamp(given)

for i = 6, #ARGV, 5 do
  local conversationId = ARGV[i]
  if not isStale(conversationId, ARGV[i + 4]) then
    insertEntry(conversationId, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
  end
end
return dispatch(nil, nil)
