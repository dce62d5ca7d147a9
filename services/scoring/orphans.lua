-- orphans: activities came for a lead that never arrived within
-- scoring.orphan_window_s. Their lead state is dead-lettered (with the lead
-- id and how many activities, never their content) and removed, so that
-- outside input cannot grow Redis without bound.
-- KEYS[1] <p>:orphans  KEYS[2] <p>:deadletter  KEYS[3] <p>:stats
-- ARGV[1] key prefix  ARGV[2] now (ms)  ARGV[3] at most this many
-- Returns the number of leads dead-lettered.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local dropped = 0
for _, lead_id in ipairs(due) do
  redis.call('ZREM', KEYS[1], lead_id)
  local lead = ARGV[1] .. ':lead:' .. lead_id
  local state = redis.call('HMGET', lead, 'has_lead', 'activities')
  if state[1] ~= '1' then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*',
               'reason', 'activities for a lead that never arrived', 'channel', 'scoring',
               'kind', 'activity', 'lead_id', lead_id, 'activities', state[2] or '0')
    redis.call('DEL', lead)
    redis.call('HINCRBY', KEYS[3], 'orphans_dropped', 1)
    redis.call('HINCRBY', ARGV[1] .. ':rejects', 'activities for a lead that never arrived', 1)
    dropped = dropped + 1
  end
end
return dropped
