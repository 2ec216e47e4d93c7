--[[
  Replaces all routing state with a store snapshot and writes a new epoch, in one step (DESIGN R4).
  Loads count from the held assignments (the snapshot's profile loads are not used). With mode
  "missing" it does nothing while the epoch key exists: another caller rebuilt first.

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  queuedAt   zset conversationId -> queued_at
      KEYS[4]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)
      KEYS[5]  held       hash conversationId -> "repId|queueSeq|customerId|queuedAt|version"
      KEYS[6]  versions   hash conversationId -> highest version seen
      KEYS[7]  reps       hash repId -> "status|maxCapacity|load|lastAssignedAt"
      KEYS[8]  eligible   zset of the reps online with a free slot, in policy order
      KEYS[9]  clock      string, last lastAssignedAt stamp (kept: stamps only move forward)
      KEYS[10] repHeld    zset "<repId, 20 digits>:<conversationId>" (score 0): what each rep holds
      KEYS[11] seq        string, the last queue_seq handed out by admit

      ARGV[1]  mode: "force" (always) or "missing" (only when the epoch key is missing)
      ARGV[2]  the new epoch
      ARGV[3]  number of reps, R
      ARGV[4]  number of held assignments, H
      ARGV[5]  the store's queue_seq floor (the highest it has handed out or committed)
      ARGV[6 .. 5+R]        reps: "repId|status|maxCapacity|lastAssignedAt" (lastAssignedAt "" for never)
      ARGV[6+R .. 5+R+H]    held: "repId|queueSeq|customerId|queuedAt|version|conversationId"
      ARGV[6+R+H ..]        queue: "queueSeq|customerId|queuedAt|version|conversationId"

    Output:
      1 when the state was replaced, 0 when mode "missing" found state already there
]]
local K = {
  epoch = KEYS[1], queue = KEYS[2], queuedAt = KEYS[3], entries = KEYS[4], held = KEYS[5],
  versions = KEYS[6], reps = KEYS[7], eligible = KEYS[8], clock = KEYS[9], repHeld = KEYS[10], seq = KEYS[11],
}
--- @include "includes/state"

if ARGV[1] == 'missing' and redis.call('EXISTS', K.epoch) == 1 then return 0 end

-- Wipe what is there (after a plain flush nothing is).
redis.call('DEL', K.queue, K.queuedAt, K.entries, K.held, K.versions, K.reps, K.eligible, K.repHeld)

local repCount, heldCount = tonumber(ARGV[3]), tonumber(ARGV[4])
local reps = {}
local order = {}
for i = 6, 5 + repCount do
  local repId, status, maxCapacity, last = string.match(ARGV[i], '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  local rep = { id = repId, status = status, max = tonumber(maxCapacity), load = 0, last = tonumber(last) }
  reps[repId] = rep
  order[#order + 1] = rep
  noteStamp(rep.last)
end

for i = 6 + repCount, 5 + repCount + heldCount do
  local repId, queueSeq, customerId, queuedAt, version, conversationId =
    string.match(ARGV[i], '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  hold(conversationId, repId, packEntry(queueSeq, customerId, queuedAt, version))
  redis.call('HSET', K.versions, conversationId, version)
  local rep = reps[repId]
  if rep then rep.load = rep.load + 1 end
end
for i = 1, #order do writeRep(order[i]) end

local lastSeq = tonumber(ARGV[5])
for i = 6 + repCount + heldCount, #ARGV do
  local queueSeq, customerId, queuedAt, version, conversationId =
    string.match(ARGV[i], '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  insertEntry(conversationId, queueSeq, customerId, queuedAt, version)
  if tonumber(queueSeq) > lastSeq then lastSeq = tonumber(queueSeq) end
end
-- Admissions made before the rebuild and not yet committed hold seqs above the store's floor, which no
-- snapshot shows: later ones start a margin above it, so that no two conversations share a queue_seq.
-- Never lower than what was handed out before (the key survives a rebuild; only a flush loses it).
local handedOut = tonumber(redis.call('GET', K.seq) or '0')
redis.call('SET', K.seq, num(math.max(handedOut, lastSeq + SEQ_MARGIN)))

redis.call('SET', K.epoch, ARGV[2])
return 1
