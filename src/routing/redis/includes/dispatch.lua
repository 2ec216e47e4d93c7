--[[
  The dispatch loop: while the queue head can go to an eligible rep, reserve that rep's slot for it.
  Each assignment costs O(log n): the head from the queue zset, the rep from the eligible zset.

  excludeConversation / excludeRep: that conversation is not offered to that rep in this dispatch;
  when nobody else can take it, later entries may go first. Pending entries (admitted, their enqueue not
  yet committed) are passed over: the ones behind them may go first.

  Returns an array of proposals {conversationId, repId, "queueSeq|customerId|queuedAt|version"}.
]]
--- @include "state"
--- @include "pickRep"

local function dispatch(excludeConversation, excludeRep)
  local proposals = {}
  local excludeNum = nil
  if excludeRep then excludeNum = tonumber(excludeRep) end
  local index = 0
  while true do
    if redis.call('ZCARD', K.eligible) == 0 then break end
    local head = redis.call('ZRANGE', K.queue, index, index)[1]
    if not head then break end
    local packed = redis.call('HGET', K.entries, head)
    local exclude = nil
    if excludeConversation and head == excludeConversation then exclude = excludeNum end
    local rep = nil
    -- An admitted entry whose enqueue has not committed is passed over (the store would refuse it); it
    -- is offered once its enqueue confirms it.
    if not isPending(packed) then rep = pickRep(exclude) end
    if not rep then
      if not exclude and not isPending(packed) then break end
      index = index + 1
    else
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
