--[[
  Registers a rep or updates its status and capacity, then dispatches (a slot may have opened).
  A rep the router knows keeps its load and its lastAssignedAt (when it has one).

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

      ARGV[1]  repId
      ARGV[2]  status (online | away | offline)
      ARGV[3]  maxCapacity
      ARGV[4]  load (used only for a rep the router does not know)
      ARGV[5]  lastAssignedAt (ms), or "" for never

    Output:
      array of proposals {conversationId, repId, "queueSeq|customerId|queuedAt|version"}, in order
      error "NOSTATE ..." when the epoch key is missing (nothing changed)
]]
local K = {
  epoch = KEYS[1], queue = KEYS[2], queuedAt = KEYS[3], entries = KEYS[4], held = KEYS[5],
  reps = KEYS[6], eligible = KEYS[7], clock = KEYS[8], repHeld = KEYS[9],
}
--- @include "includes/dispatch"

if redis.call('EXISTS', K.epoch) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local repId = ARGV[1]
local current = readRep(repId)
local given = tonumber(ARGV[5])
local rep = { id = repId, status = ARGV[2], max = tonumber(ARGV[3]), load = tonumber(ARGV[4]), last = given }
if current then
  rep.load = current.load
  if current.last then rep.last = current.last end
end
writeRep(rep)
noteStamp(given)
return dispatch(nil, nil)
