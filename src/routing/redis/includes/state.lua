--[[
  Shared routing state helpers, inlined into each script at load time.

  The including script defines a table K of its key names before this include:
    K.queue     zset    conversationId -> queue_seq (the queue order; ties by id)
    K.queuedAt  zset    conversationId -> queued_at (for the oldest wait)
    K.entries   hash    conversationId -> "queueSeq|customerId|queuedAt|version" (queued only); an
                        admitted entry whose enqueue is not committed yet ends in "|p" (pending)
    K.held      hash    conversationId -> "repId|queueSeq|customerId|queuedAt|version" (held slots)
    K.versions  hash    conversationId -> highest version seen (DESIGN R3)
    K.reps      hash    repId -> "status|maxCapacity|load|lastAssignedAt" (empty when never assigned)
    K.eligible  zset    the reps online with load < maxCapacity, in policy order (see eligibleMember)
    K.clock     string  the last lastAssignedAt stamp handed out or loaded
    K.repHeld   zset    "<repId, 20 digits>:<conversationId>", all scores 0: the conversations each rep
                        holds, one rep's read by a lex range (a key per rep would be a key no script
                        declares, which Redis Cluster forbids)
    K.seq       string  the last queue_seq handed out by admit (the router orders the queue; the store follows)
  A script only fills the keys it uses; every key it touches is one of its KEYS, none built here.
]]

local function num(n)
  return string.format('%.17g', n)
end

-- How far above the store's floor a rebuild starts handing out queue_seqs (see rebuild).
local SEQ_MARGIN = 1000
local PENDING = '|p'

-- Admitted, not committed yet: counted in positions, never proposed.
local function isPending(packed)
  return packed ~= nil and packed ~= false and string.sub(packed, -2) == PENDING
end

local function packEntry(queueSeq, customerId, queuedAt, version)
  return queueSeq .. '|' .. customerId .. '|' .. queuedAt .. '|' .. version
end

-- A rep's member in the eligible zset. The zset is the policy: score -freeSlots (most free first),
-- then members in byte order: never assigned ("-") before any stamp, older stamps first, lower ids first.
local function eligibleMember(rep)
  local last = '-'
  if rep.last then last = string.format('%020d', rep.last) end
  return last .. ':' .. string.format('%020d', rep.num)
end

local function repIdOfMember(member)
  return tostring(tonumber(string.match(member, ':(%d+)$')))
end

local function parseRep(repId, packed)
  local status, maxCapacity, load, last = string.match(packed, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  return {
    id = repId,
    num = tonumber(repId),
    status = status,
    max = tonumber(maxCapacity),
    load = tonumber(load),
    last = tonumber(last),
  }
end

local function readRep(repId)
  local packed = redis.call('HGET', K.reps, repId)
  if not packed then return nil end
  return parseRep(repId, packed)
end

-- Stores the rep and keeps its place in the eligible zset (online with load < maxCapacity).
local function writeRep(rep)
  rep.num = tonumber(rep.id)
  local before = redis.call('HGET', K.reps, rep.id)
  if before then redis.call('ZREM', K.eligible, eligibleMember(parseRep(rep.id, before))) end
  local last = ''
  if rep.last then last = num(rep.last) end
  redis.call('HSET', K.reps, rep.id, rep.status .. '|' .. num(rep.max) .. '|' .. num(rep.load) .. '|' .. last)
  if rep.status == 'online' and rep.load < rep.max then
    redis.call('ZADD', K.eligible, rep.load - rep.max, eligibleMember(rep))
  end
end

-- Stamps strictly increase, so that reps assigned within one millisecond still order by assignment.
local lastStamp = nil
local function nextStamp()
  if not lastStamp then lastStamp = tonumber(redis.call('GET', K.clock) or '0') end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now <= lastStamp then now = lastStamp + 1 end
  lastStamp = now
  redis.call('SET', K.clock, num(now))
  return now
end

-- A lastAssignedAt from outside (store snapshot, rep fix): later stamps must come after it.
local function noteStamp(at)
  if not at then return end
  local current = tonumber(redis.call('GET', K.clock) or '0')
  if at > current then redis.call('SET', K.clock, num(at)) end
  lastStamp = nil
end

local function isStale(conversationId, version)
  local seen = redis.call('HGET', K.versions, conversationId)
  if not seen then return false end
  return tonumber(version) < tonumber(seen)
end

local function noteVersion(conversationId, version)
  local seen = redis.call('HGET', K.versions, conversationId)
  if not seen or tonumber(version) > tonumber(seen) then
    redis.call('HSET', K.versions, conversationId, version)
  end
end

-- Adds a conversation at its place by queue_seq; a conversation already queued is left as it is.
local function insertEntry(conversationId, queueSeq, customerId, queuedAt, version)
  if redis.call('ZSCORE', K.queue, conversationId) then return false end
  redis.call('ZADD', K.queue, queueSeq, conversationId)
  redis.call('ZADD', K.queuedAt, queuedAt, conversationId)
  redis.call('HSET', K.entries, conversationId, packEntry(queueSeq, customerId, queuedAt, version))
  noteVersion(conversationId, version)
  return true
end

-- An admitted entry's enqueue committed: it may now be proposed.
local function confirmEntry(conversationId)
  local packed = redis.call('HGET', K.entries, conversationId)
  if isPending(packed) then redis.call('HSET', K.entries, conversationId, string.sub(packed, 1, -3)) end
end

local function unqueue(conversationId)
  if redis.call('ZREM', K.queue, conversationId) == 0 then return false end
  redis.call('ZREM', K.queuedAt, conversationId)
  redis.call('HDEL', K.entries, conversationId)
  return true
end

local function holderOf(conversationId)
  local held = redis.call('HGET', K.held, conversationId)
  if not held then return nil, nil end
  return string.match(held, '^([^|]*)|(.*)$')
end

local function repHeldMember(repId, conversationId)
  return string.format('%020d', tonumber(repId)) .. ':' .. conversationId
end

-- The conversations one rep holds: a lex range of K.repHeld, O(log n + held).
local function heldBy(repId)
  local from = string.format('%020d', tonumber(repId)) .. ':'
  local members = redis.call('ZRANGEBYLEX', K.repHeld, '[' .. from, '(' .. string.format('%020d', tonumber(repId)) .. ';')
  local ids = {}
  for i = 1, #members do ids[i] = string.sub(members[i], #from + 1) end
  return ids
end

local function hold(conversationId, repId, packedEntry)
  redis.call('HSET', K.held, conversationId, repId .. '|' .. packedEntry)
  redis.call('ZADD', K.repHeld, 0, repHeldMember(repId, conversationId))
end

-- Frees the slot a conversation holds; with repId, only if that rep is the holder.
local function releaseHold(conversationId, repId)
  local holder = holderOf(conversationId)
  if not holder then return false end
  if repId and tonumber(holder) ~= tonumber(repId) then return false end
  redis.call('HDEL', K.held, conversationId)
  redis.call('ZREM', K.repHeld, repHeldMember(holder, conversationId))
  local rep = readRep(holder)
  if rep and rep.load > 0 then
    rep.load = rep.load - 1
    writeRep(rep)
  end
  return true
end
