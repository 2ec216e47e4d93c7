--[[
  The routing policy (src/domain/policy.ts) in Redis: among online reps with load < maxCapacity,
  the most free slots; on a tie the least recently assigned (never assigned first); then the lowest
  id. The eligible zset keeps exactly that order, so a pick is O(log reps).
]]
--- @include "state"

-- Returns the best eligible rep (see readRep), skipping the rep whose id is `exclude`, or nil.
local function pickRep(exclude)
  local best = redis.call('ZRANGE', K.eligible, 0, 1)
  for i = 1, #best do
    local repId = repIdOfMember(best[i])
    if tonumber(repId) ~= exclude then return readRep(repId) end
  end
  return nil
end
