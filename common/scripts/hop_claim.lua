-- hop_claim: takes the in-flight entries of one hop whose redelivery deadline
-- has passed, pushes their deadline forward (so that another sender instance
-- does not re-send them at the same moment) and returns them for re-sending.
-- KEYS[1] in-flight zset, KEYS[2] message hash ('' when the hop keeps none)
-- ARGV[1] now (ms), ARGV[2] new deadline (ms), ARGV[3] at most this many
-- Returns a flat array: member, message (false when none), member, message...
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
if #due == 0 then
  return {}
end
local out = {}
local messages = {}
if KEYS[2] ~= '' then
  messages = redis.call('HMGET', KEYS[2], unpack(due))
end
for i, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], member)
  out[2 * i - 1] = member
  out[2 * i] = messages[i] or false
end
return out
