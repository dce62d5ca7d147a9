-- apply: applies one lead or activity event to the lead's state, exactly once,
-- and hands the lead to routing the first time it qualifies.
-- KEYS[1] <p>:inflight:scoring      (the ingest hop: the event must be in it)
-- KEYS[2] <p>:inflight:scoring:msg
-- KEYS[3] <p>:lead:<lead_id>        (the lead the event belongs to, aliases resolved)
-- KEYS[4] <p>:inflight:routing      (the next hop, by lead id)
-- KEYS[5] <p>:stats
-- KEYS[6] <p>:leads                 (lead ids by first ingest time)
-- KEYS[7] <p>:orphans               (lead ids with activities but no lead, by deadline)
-- ARGV[1] event id     ARGV[2] 'lead' | 'activity'   ARGV[3] lead id
-- ARGV[4] now (ms)     ARGV[5] ingested at (ms)      ARGV[6] qualify threshold
-- ARGV[7] routing redelivery deadline (ms)           ARGV[8] orphan window (s)
-- lead:     ARGV[9] merged Lead protobuf  ARGV[10] fit  ARGV[11] grade
--           ARGV[12] reasons (JSON)  ARGV[13] revision the merge was computed from
--           ARGV[14] the event's time (ms)  ARGV[15] changes (JSON object, '' for none)
--           ARGV[16] the lead id the event came with (differs from ARGV[3] when merged)
-- activity: ARGV[9] activity type  ARGV[10] points
-- Returns {0} for an event already applied (a redelivery), {3} when the lead
-- changed since scoring read it (merge again), {1, score} when scored,
-- {2, score, lead protobuf, ingested at, fit, engagement, grade} when the lead
-- qualified now and is in flight to routing.
local lead = KEYS[3]
local now = ARGV[4]
if ARGV[2] == 'lead' and (redis.call('HGET', lead, 'rev') or '0') ~= ARGV[13] then
  return {3}
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then
  return {0}
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])

if ARGV[2] == 'lead' then
  local newest = math.max(tonumber(redis.call('HGET', lead, 'lead_time') or '0'),
                          tonumber(ARGV[14]))
  redis.call('HSET', lead, 'lead', ARGV[9], 'fit', ARGV[10], 'grade', ARGV[11],
             'reasons', ARGV[12], 'has_lead', '1', 'updated_at', now,
             'lead_time', string.format('%d', newest))
  redis.call('HINCRBY', lead, 'rev', 1)
  -- The lead came: activities that waited for it are kept for good.
  redis.call('ZREM', KEYS[7], ARGV[3])
  -- It came under another id and merged into this lead: activities that
  -- were scored under that id before it merged move here too.
  local came_as = ARGV[16] or ARGV[3]
  if came_as ~= ARGV[3] then
    local orphan = string.sub(lead, 1, #lead - #ARGV[3]) .. came_as
    if redis.call('EXISTS', orphan) == 1 and redis.call('HGET', orphan, 'has_lead') ~= '1' then
      local fields = redis.call('HGETALL', orphan)
      for i = 1, #fields, 2 do
        local name, value = fields[i], fields[i + 1]
        if name == 'engagement' then
          redis.call('HINCRBYFLOAT', lead, 'engagement', value)
        elseif name == 'activities' or string.sub(name, 1, 4) == 'act:' then
          redis.call('HINCRBY', lead, name, value)
        end
      end
      redis.call('DEL', orphan)
      redis.call('ZREM', KEYS[7], came_as)
    end
  end
  if ARGV[15] ~= '' then
    redis.call('XADD', lead .. ':history', 'MAXLEN', '~', 100, '*', 'event_id', ARGV[1],
               'at', ARGV[14], 'changes', ARGV[15])
  end
  if redis.call('HSETNX', lead, 'ingested_at', ARGV[5]) == 1 then
    redis.call('ZADD', KEYS[6], ARGV[5], ARGV[3])
  end
else
  redis.call('HINCRBYFLOAT', lead, 'engagement', ARGV[10])
  redis.call('HINCRBY', lead, 'activities', 1)
  redis.call('HINCRBY', lead, 'act:' .. ARGV[9], 1)
  redis.call('HSET', lead, 'last_activity_at', now, 'updated_at', now)
  -- Activities for a lead not seen yet wait for it, but not forever: the
  -- orphan sweep (orphans.lua) dead-letters them when the window ends.
  if redis.call('HGET', lead, 'has_lead') ~= '1' then
    redis.call('ZADD', KEYS[7], 'NX', tonumber(ARGV[4]) + 1000 * tonumber(ARGV[8]), ARGV[3])
  end
end

local state = redis.call('HMGET', lead, 'fit', 'engagement', 'has_lead', 'qualified', 'status',
                         'lead', 'ingested_at', 'grade')
local fit = tonumber(state[1]) or 0
local engagement = tonumber(state[2]) or 0
local score = fit + engagement
redis.call('HSET', lead, 'score', tostring(score), 'scored_at', now)
if not state[5] then
  redis.call('HSET', lead, 'status', 'scored', 'stage', 'lead')
end
redis.call('HINCRBY', KEYS[5], 'scored', 1)

if state[3] == '1' and state[4] ~= '1' and score >= tonumber(ARGV[6]) then
  redis.call('HSET', lead, 'qualified', '1', 'stage', 'mql', 'qualified_at', now)
  redis.call('HINCRBY', KEYS[5], 'qualified', 1)
  redis.call('ZADD', KEYS[4], ARGV[7], ARGV[3])
  return {2, tostring(score), state[6], state[7] or ARGV[5], tostring(fit),
          tostring(engagement), state[8] or ''}
end
return {1, tostring(score)}
