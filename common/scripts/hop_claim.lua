-- hop_claim: takes the in-flight entries of one hop whose redelivery deadline
-- has passed, pushes their deadline forward (so that another sender instance
-- does not re-send them at the same moment) and returns them for re-sending.
-- KEYS[1] in-flight zset, KEYS[2] message hash (absent when the hop keeps none)
-- ARGV[1] now (ms), ARGV[2] new deadline (ms), ARGV[3] at most this many
-- Returns a flat array: member, message (false when the hop keeps none), ...
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
if #due == 0 then
  return {}
end
local out = {}
local messages = {}
if KEYS[2] then
  messages = redis.call('HMGET', KEYS[2], unpack(due))
end
for i, member in ipairs(due) do
  if KEYS[2] and not messages[i] then
    -- An entry whose bytes are gone can never be re-sent: drop it rather
    -- than claim it again every tick.
    redis.call('ZREM', KEYS[1], member)
  else
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], member)
    out[#out + 1] = member
    out[#out + 1] = messages[i] or false
  end
end
return out
