--[[
  The dispatch loop: while the queue head can go to an eligible rep, reserve that rep's slot for it.
  Each assignment costs O(log n): the head from the queue zset, the rep from the eligible zset.

  excludeConversation / excludeRep: that conversation is not offered to that rep in this dispatch;
  when nobody else can take it, later entries may go first.

  Returns an array of proposals {conversationId, repId, "queueSeq|customerId|queuedAt|version"}.
]]
--- @include "state"
--- @include "pickRep"

-- What is left of the current gap's hold after advanceMark (0: no gap waited on), for the dispatch script.
local gapWaitMs = 0

--[[
  Moves the watermark over every queue_seq that has arrived next to it. A gap (a queue_seq committed by an
  instance whose router call has not landed yet) is waited on for `hold` ms from when it was first seen, then
  skipped; what arrives below the mark later is served first, by queue_seq. Returns the mark, or nil when
  the state has none (nothing is held back then). Each step is one O(log n) range read.
]]
local function advanceMark()
  local mark = redis.call('HMGET', K.mark, 'w', 'since', 'hold')
  if not mark[1] then return nil end
  local w, since, hold = tonumber(mark[1]), tonumber(mark[2]), tonumber(mark[3] or '500')
  local w0, since0 = w, since
  gapWaitMs = 0
  while true do
    local above = redis.call('ZRANGEBYSCORE', K.queue, '(' .. num(w), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if not above[1] then
      since = nil
      break
    end
    local seq = tonumber(above[2])
    if seq <= w + 1 then
      w = seq
      since = nil
    else
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      if not since then since = now end
      if now - since < hold then
        gapWaitMs = hold - (now - since)
        break
      end
      w = seq - 1
      since = nil
    end
  end
  if w ~= w0 then redis.call('HSET', K.mark, 'w', num(w)) end
  if since ~= since0 then
    if since then redis.call('HSET', K.mark, 'since', num(since)) else redis.call('HDEL', K.mark, 'since') end
  end
  return w
end

local function dispatch(excludeConversation, excludeRep)
  local proposals = {}
  local mark = advanceMark()
  local excludeNum = nil
  if excludeRep then excludeNum = tonumber(excludeRep) end
  local index = 0
  while true do
    if redis.call('ZCARD', K.eligible) == 0 then break end
    local top = redis.call('ZRANGE', K.queue, index, index, 'WITHSCORES')
    local head = top[1]
    if not head then break end
    if mark and tonumber(top[2]) > mark then break end
    local exclude = nil
    if excludeConversation and head == excludeConversation then exclude = excludeNum end
    local rep = pickRep(exclude)
    if not rep then
      if not exclude then break end
      index = index + 1
    else
      local packed = redis.call('HGET', K.entries, head)
      unqueue(head)
      if packed then
        rep.load = rep.load + 1
        rep.last = nextStamp()
        writeRep(rep)
        hold(head, rep.id, packed)
        proposals[#proposals + 1] = { head, rep.id, packed }
      end
    end
  end
  return proposals
end
