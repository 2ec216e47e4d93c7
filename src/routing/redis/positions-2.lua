--[[
  Reads many conversations' places in the queue at one instant: a rank lookup each, O(m log n).

    Input:
      KEYS[1]  epoch      string, present while routing state is loaded
      KEYS[2]  queue      zset conversationId -> queue_seq
      ARGV[1..m]  conversationIds

    Output:
      flat array {position (1 is next, 0 when not queued), queue_seq as a string or "" , ...}, in ARGV order
      error "NOSTATE ..." when the epoch key is missing
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSTATE routing state is missing') end

local out = {}
for i = 1, #ARGV do
  local rank = redis.call('ZRANK', KEYS[2], ARGV[i])
  if rank then
    out[#out + 1] = rank + 1
    out[#out + 1] = redis.call('ZSCORE', KEYS[2], ARGV[i])
  else
    out[#out + 1] = 0
    out[#out + 1] = ''
  end
end
return out
