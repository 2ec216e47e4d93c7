--[[
  Reads many conversations' places in the queue at one instant: a rank lookup each, O(m log n).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      KEYS[3]  mark       hash w: the queue_seq watermark, since: when the gap above it was first seen (ms), hold: how long a gap is held (ms)
      ARGV[1..m]  conversationIds

    Output:
      flat array {position (1 is next, 0 when not queued), queue_seq as a string or "" , ...}, in ARGV order
      error "NOSTATE ..." when the epoch key is missing
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSTATE routing state is missing') end


-- Queue_seqs still missing between the watermark and this entry go first when they arrive: counted in.
local mark = tonumber(redis.call('HGET', KEYS[3], 'w') or '')
local function placeOf(rank, seq)
  if not mark or seq <= mark + 1 then return rank + 1 end
  local arrived = redis.call('ZCOUNT', KEYS[2], '(' .. string.format('%.17g', mark), '(' .. string.format('%.17g', seq))
  local missing = seq - mark - 1 - arrived
  if missing < 0 then missing = 0 end
  return rank + 1 + missing
end

local out = {}
for i = 1, #ARGV do
  local rank = redis.call('ZRANK', KEYS[2], ARGV[i])
  if rank then
    local seq = redis.call('ZSCORE', KEYS[2], ARGV[i])
    out[#out + 1] = placeOf(rank, tonumber(seq))
    out[#out + 1] = seq
  else
    out[#out + 1] = 0
    out[#out + 1] = ''
  end
end
return out
