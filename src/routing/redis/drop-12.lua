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
      KEYS[10] repHeld    zset "<repId, 20 digits>:<conversationId>" (score 0): what each rep holds
      KEYS[11] seq
      KEYS[12] rebuildLock

    Output:
      the number of keys deleted
]]
local deleted = 0
for i = 1, 12 do deleted = deleted + redis.call('DEL', KEYS[i]) end
return deleted
