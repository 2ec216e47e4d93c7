--[[
  Deletes every key of this router (an operator reset, or a test's cleanup). The next operation
  then finds no epoch and rebuilds from the store.

    Input:
      KEYS[1]  epoch
      KEYS[2]  queue
      KEYS[3]  queuedAt
      KEYS[4]  entries
      KEYS[5]  held
      KEYS[6]  versions
      KEYS[7]  reps
      KEYS[8]  eligible
      KEYS[9]  clock
      KEYS[10] repHeld    key prefix; repHeld .. repId = set of conversations that rep holds
      KEYS[11] rebuildLock

    Output:
      the number of keys deleted
]]
local deleted = 0
local holders = redis.call('HVALS', KEYS[5])
for i = 1, #holders do
  deleted = deleted + redis.call('DEL', KEYS[10] .. string.match(holders[i], '^([^|]*)|'))
end
local known = redis.call('HKEYS', KEYS[7])
for i = 1, #known do deleted = deleted + redis.call('DEL', KEYS[10] .. known[i]) end
for i = 1, 11 do
  if i ~= 10 then deleted = deleted + redis.call('DEL', KEYS[i]) end
end
return deleted
