--[[
  Reads one conversation's place in the queue in O(log n).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  entries    hash conversationId -> "queueSeq|customerId|queuedAt|version"
      KEYS[4]  mark       hash w: the queue_seq watermark, since: when the gap above it was first seen (ms), hold: how long a gap is held (ms)
      ARGV[1]  conversationId

    Output:
      {position (1 is next) or 0 when not queued, queue length}
      error "NOSTATE ..." when the epoch key is missing
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSTATE routing state is missing') end


-- Queue_seqs still missing between the watermark and this entry go first when they arrive: counted in.
local mark = tonumber(redis.call('HGET', KEYS[4], 'w') or '')
local function placeOf(rank, seq)
  if not mark or seq <= mark + 1 then return rank + 1 end
  local arrived = redis.call('ZCOUNT', KEYS[2], '(' .. string.format('%.17g', mark), '(' .. string.format('%.17g', seq))
  local missing = seq - mark - 1 - arrived
  if missing < 0 then missing = 0 end
  return rank + 1 + missing
end

local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
local position = 0
if rank then position = placeOf(rank, tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]))) end
return { position, redis.call('ZCARD', KEYS[2]) }
