--[[
  Places a conversation at the tail before its enqueue commits in the store, and hands out its
  queue_seq. The router is where the queue's order is decided, atomically across instances: the store
  then commits the conversation as queued with this queue_seq, and no store lock is held while Redis
  answers. The entry is pending (counted in every position, never proposed) until enqueueAndDispatch
  confirms it; an enqueue that fails removes it, and one whose instance died is left to the reconciler.
  Idempotent: a conversation already queued keeps its place. One held, or of an older version (the router
  disagrees with the store), gets a queue_seq but no place (position 0): the store decides, and the
  reconciler brings the router to what it committed.

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  queuedAt   zset conversationId -> queued_at
      KEYS[4]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version" ("|p" while pending)
      KEYS[5]  held       hash conversationId -> "repId|queueSeq|customerId|queuedAt|version"
      KEYS[6]  versions   hash conversationId -> highest version seen
      KEYS[7]  seq        string, the last queue_seq handed out

      ARGV[1]  conversationId
      ARGV[2]  customerId
      ARGV[3]  queuedAt (ms)
      ARGV[4]  version (the one the enqueue will commit)

    Output:
      {queueSeq, position}; position 0 when the entry was not placed (held or stale)
      error "NOSTATE ..." when the epoch key is missing (nothing changed)
]]
local K = {
  epoch = KEYS[1], queue = KEYS[2], queuedAt = KEYS[3], entries = KEYS[4], held = KEYS[5],
  versions = KEYS[6], seq = KEYS[7],
}
--- @include "includes/state"

if redis.call('EXISTS', K.epoch) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local conversationId = ARGV[1]

-- Never below the tail, even with the counter lost: a new conversation must not jump the queue.
local function nextSeq()
  local last = tonumber(redis.call('GET', K.seq) or '0')
  local tail = redis.call('ZRANGE', K.queue, -1, -1, 'WITHSCORES')
  if tail[2] and tonumber(tail[2]) > last then last = tonumber(tail[2]) end
  redis.call('SET', K.seq, num(last + 1))
  return last + 1
end

-- Held, or a newer version seen: the router disagrees with the store, which decides. The enqueue still gets
-- a queue_seq; the entry is not placed, and the reconciler's rebuild loads what the store committed.
if redis.call('HEXISTS', K.held, conversationId) == 1 or isStale(conversationId, ARGV[4]) then return { nextSeq(), 0 } end

local placed = redis.call('ZSCORE', K.queue, conversationId)
if not placed then
  placed = nextSeq()
  redis.call('ZADD', K.queue, placed, conversationId)
  redis.call('ZADD', K.queuedAt, ARGV[3], conversationId)
  redis.call('HSET', K.entries, conversationId, packEntry(num(placed), ARGV[2], ARGV[3], ARGV[4]) .. PENDING)
  noteVersion(conversationId, ARGV[4])
end
return { tonumber(placed), redis.call('ZRANK', K.queue, conversationId) + 1 }
