-- routing: every change to queues, reps and assignments, atomically. One
-- script with several operations, so that they share one assign function
-- and so that "pick a rep" and "take a unit of its capacity" are never apart:
-- with any number of routing instances, a rep's open count never exceeds its
-- capacity and a lead is held by at most one rep.
--
-- Keys are built from the prefix (ARGV[2]); LeadOps runs on one Redis, not a
-- cluster. Layout: common/keys.h.
--
-- ARGV[1] operation, ARGV[2] prefix, ARGV[3] now (ms), then per operation:
--   route   lead_id queue rule score strategy stage_ok queue_stage
--           -> {0} nothing to do (a redelivery, or a lead a rep holds or closed)
--            | {1, rep, ingested_at} assigned | {2, ingested_at} waiting in the queue
--            | {3, ingested_at} below the queue's stage: not routed (nurture)
--            | {4, ingested_at} waiting, re-ordered by its new score
--            | {5, ingested_at} left the queue: its stage fell below the queue's
--           (strategy: round_robin, the one there is so far; stage_ok: '1' when the
--           lead's stage is at or above queue_stage, the lowest the queue takes)
--   reprioritize queue start count half_life_s -> {next start (0: done), re-ordered}
--           re-orders waiting leads by their score decayed to now
--   pull    rep_id max                        -> {assignments...}
--   close   rep_id lead_id outcome max        -> {status, reason, assignments...}
--   rep     rep_id field value max            -> {status, reason, assignments...}
--   sync    rep_id name capacity status queues(csv) -> {1}
--   retire  rep_id                            -> {1}: a rep the config no longer has
-- An assignment in a reply is {lead_id, queue, rep_id, ingested_at, queued_at, score}.

local op, prefix, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local function key(...) return prefix .. ':' .. table.concat({...}, ':') end

-- Speed-to-lead buckets in ms; the same list as stl_buckets_ms in
-- services/reporting/stl.c (a test checks that they agree).
local STL_BUCKETS = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000,
                     300000, 1800000, 3600000, 86400000}

local function record_speed_to_lead(ms)
  local bucket = '+Inf'
  for _, bound in ipairs(STL_BUCKETS) do
    if ms <= bound then bucket = tostring(bound) break end
  end
  local stl = key('stl')
  redis.call('HINCRBY', stl, 'le_' .. bucket, 1)
  redis.call('HINCRBY', stl, 'count', 1)
  redis.call('HINCRBYFLOAT', stl, 'sum_ms', ms)
end

-- A waiting lead's priority: higher score first (to 0.01), then arrival
-- order by a global sequence; both fit in a double's 53 bits (seq < 1e10).
local SEQ_SPAN = 1e10
local function priority(score, seq)
  local clamped = math.max(0, math.min(1000, tonumber(score) or 0))
  return math.floor((1000 - clamped) * 100 + 0.5) * SEQ_SPAN + seq
end
local function seq_of(old_priority)
  local p = tonumber(old_priority)
  return p - math.floor(p / SEQ_SPAN) * SEQ_SPAN
end

local function rep_is_free(rep_id)
  local r = redis.call('HMGET', key('rep', rep_id), 'status', 'capacity', 'open')
  return r[1] == 'online' and (tonumber(r[3]) or 0) < (tonumber(r[2]) or 0)
end

-- Gives LEAD_ID to REP_ID from QUEUE; the caller checked the rep is free.
local function assign(lead_id, queue, rep_id, queued_at)
  local rep = key('rep', rep_id)
  redis.call('HINCRBY', rep, 'open', 1)
  redis.call('HINCRBY', rep, 'assigned_total', 1)
  redis.call('SADD', key('rep', rep_id, 'leads'), lead_id)
  -- Round robin order: the rep just served moves to the back of every
  -- queue it works, by a global sequence that survives restarts.
  local seq = redis.call('INCR', key('seq'))
  for _, q in ipairs(redis.call('SMEMBERS', key('rep', rep_id, 'queues'))) do
    redis.call('ZADD', key('queue', q, 'rr'), 'XX', seq, rep_id)
  end
  local lead = key('lead', lead_id)
  redis.call('HSET', lead, 'status', 'assigned', 'queue', queue, 'rep', rep_id,
             'assigned_at', now, 'updated_at', now)
  local state = redis.call('HMGET', lead, 'ingested_at', 'score', 'qualified_at', 'ready_at')
  local ingested_at = tonumber(state[1]) or now
  -- Speed to lead runs from the moment the lead became ready for sales: its
  -- intake when it qualified at once, else the activity that qualified it
  -- (the last time it rose to a routed stage).
  local ready_at = math.max(ingested_at, tonumber(state[4]) or tonumber(state[3]) or ingested_at)
  record_speed_to_lead(math.max(0, now - ready_at))
  redis.call('HINCRBY', key('stats'), 'assigned', 1)
  return {lead_id, queue, rep_id, tostring(ingested_at), tostring(queued_at or 0), state[2] or '0'}
end

-- The first free rep of QUEUE in round-robin order (least recently
-- assigned first; ties by rep id, which ZRANGE gives for equal scores).
local function pick_rep(queue)
  for _, rep_id in ipairs(redis.call('ZRANGE', key('queue', queue, 'rr'), 0, -1)) do
    if rep_is_free(rep_id) then return rep_id end
  end
  return nil
end

-- Assigns waiting leads to REP_ID while it is free, best first across its queues.
local function pull(rep_id, max)
  local out = {}
  local queues = redis.call('SMEMBERS', key('rep', rep_id, 'queues'))
  while #out < max and rep_is_free(rep_id) do
    local best_queue, best_lead, best_priority = nil, nil, nil
    for _, q in ipairs(queues) do
      local top = redis.call('ZRANGE', key('queue', q, 'waiting'), 0, 0, 'WITHSCORES')
      if top[1] and (not best_priority or tonumber(top[2]) < best_priority) then
        best_queue, best_lead, best_priority = q, top[1], tonumber(top[2])
      end
    end
    if not best_lead then break end
    redis.call('ZREM', key('queue', best_queue, 'waiting'), best_lead)
    local queued_at = redis.call('HGET', key('lead', best_lead), 'queued_at')
    out[#out + 1] = assign(best_lead, best_queue, rep_id, queued_at)
  end
  return out
end

local function with_status(status, reason, assignments)
  local out = {status, reason}
  for _, a in ipairs(assignments) do out[#out + 1] = a end
  return out
end

if op == 'route' then
  local lead_id, queue, rule, score = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]) or 0
  local stage_ok = ARGV[9] ~= '0'
  -- Exactly once: the lead must still be in flight from scoring.
  if redis.call('ZREM', key('inflight', 'routing'), lead_id) == 0 then return {0} end
  local lead = key('lead', lead_id)
  local state = redis.call('HMGET', lead, 'status', 'queue', 'ingested_at')
  local status, ingested_at = state[1], state[3] or tostring(now)
  if status == 'assigned' or status == 'closed' then return {0} end
  if status == 'queued' then
    local waiting = key('queue', state[2], 'waiting')
    local old = redis.call('ZSCORE', waiting, lead_id)
    if not stage_ok then
      -- Its score fell below the stage the queue takes: out of the queue,
      -- back to nurture until it rises again.
      redis.call('ZREM', waiting, lead_id)
      redis.call('HSET', lead, 'status', 'nurture', 'waiting_for', ARGV[10], 'updated_at', now)
      redis.call('HINCRBY', key('stats'), 'unqueued', 1)
      return {5, ingested_at}
    end
    if old then
      redis.call('ZADD', waiting, 'XX', priority(score, seq_of(old)), lead_id)
      return {4, ingested_at}
    end
  end
  redis.call('HSET', lead, 'rule', rule)
  if not stage_ok then
    redis.call('HSET', lead, 'status', 'nurture', 'waiting_for', ARGV[10], 'updated_at', now)
    return {3, ingested_at}
  end
  redis.call('HDEL', lead, 'waiting_for')
  local rep_id = pick_rep(queue)
  if rep_id then
    local a = assign(lead_id, queue, rep_id, nil)
    return {1, rep_id, a[4]}
  end
  local seq = redis.call('INCR', key('seq'))
  redis.call('ZADD', key('queue', queue, 'waiting'), priority(score, seq), lead_id)
  redis.call('HSET', lead, 'status', 'queued', 'queue', queue, 'queued_at', now, 'updated_at', now)
  redis.call('HINCRBY', key('stats'), 'queued', 1)
  return {2, ingested_at}

elseif op == 'reprioritize' then
  -- Scores decay without writes (apply.lua): the order of waiting leads is
  -- brought up to date here, a slice at a time.
  local queue, start, count = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
  local half_life_ms = 1000 * tonumber(ARGV[7])
  local waiting = key('queue', queue, 'waiting')
  local slice = redis.call('ZRANGE', waiting, start, start + count - 1, 'WITHSCORES')
  local changed = 0
  for i = 1, #slice, 2 do
    local lead_id, old = slice[i], slice[i + 1]
    local s = redis.call('HMGET', key('lead', lead_id), 'fit', 'model_points', 'engagement',
                         'eng_at')
    local at = tonumber(s[4]) or now
    local factor = (half_life_ms > 0 and now > at) and 2 ^ (-(now - at) / half_life_ms) or 1
    local score = (tonumber(s[1]) or 0) + (tonumber(s[2]) or 0) + (tonumber(s[3]) or 0) * factor
    local p = priority(score, seq_of(old))
    if p ~= tonumber(old) then
      redis.call('ZADD', waiting, 'XX', p, lead_id)
      changed = changed + 1
    end
  end
  local next_start = (#slice / 2 < count) and 0 or start + count
  return {next_start, changed}

elseif op == 'pull' then
  return pull(ARGV[4], tonumber(ARGV[5]))

elseif op == 'close' then
  local rep_id, lead_id, outcome = ARGV[4], ARGV[5], ARGV[6]
  local lead = key('lead', lead_id)
  local state = redis.call('HMGET', lead, 'status', 'rep')
  if state[1] ~= 'assigned' or state[2] ~= rep_id then
    return {0, 'lead ' .. lead_id .. ' is not open with rep ' .. rep_id}
  end
  redis.call('SREM', key('rep', rep_id, 'leads'), lead_id)
  redis.call('HINCRBY', key('rep', rep_id), 'open', -1)
  redis.call('HSET', lead, 'status', 'closed', 'outcome', outcome, 'closed_at', now, 'updated_at', now)
  redis.call('HINCRBY', key('stats'), 'closed', 1)
  return with_status(1, 'closed', pull(rep_id, tonumber(ARGV[7])))

elseif op == 'rep' then
  local rep_id, field, value = ARGV[4], ARGV[5], ARGV[6]
  if redis.call('SISMEMBER', key('reps'), rep_id) == 0 then
    return {0, 'no rep ' .. rep_id}
  end
  redis.call('HSET', key('rep', rep_id), field, value)
  return with_status(1, field .. ' set', pull(rep_id, tonumber(ARGV[7])))

elseif op == 'sync' then
  -- Seeds a rep from the config. Fields the config changed since it was last
  -- applied are taken; run-time changes (by command) otherwise survive restarts.
  local rep_id, name, capacity, status, queues = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
  local rep = key('rep', rep_id)
  redis.call('SADD', key('reps'), rep_id)
  if redis.call('EXISTS', rep) == 0 then
    redis.call('HSET', rep, 'name', name, 'capacity', capacity, 'cfg_capacity', capacity,
               'status', status, 'cfg_status', status, 'open', 0, 'assigned_total', 0)
  else
    redis.call('HSET', rep, 'name', name)
    if redis.call('HGET', rep, 'cfg_capacity') ~= capacity then
      redis.call('HSET', rep, 'capacity', capacity, 'cfg_capacity', capacity)
    end
    if redis.call('HGET', rep, 'cfg_status') ~= status then
      redis.call('HSET', rep, 'status', status, 'cfg_status', status)
    end
  end
  local wanted = {}
  for q in string.gmatch(queues, '[^,]+') do wanted[q] = true end
  for _, q in ipairs(redis.call('SMEMBERS', key('rep', rep_id, 'queues'))) do
    if not wanted[q] then
      redis.call('SREM', key('rep', rep_id, 'queues'), q)
      redis.call('ZREM', key('queue', q, 'rr'), rep_id)
    end
  end
  for q in pairs(wanted) do
    redis.call('SADD', key('queues'), q)
    redis.call('SADD', key('rep', rep_id, 'queues'), q)
    redis.call('ZADD', key('queue', q, 'rr'), 'NX', 0, rep_id)
  end
  redis.call('HDEL', rep, 'retired')
  return {1}
elseif op == 'retire' then
  -- Gone from the config: no new leads (offline, out of every queue's
  -- rotation). It stays listed, with the leads it holds, until those are
  -- closed or reassigned.
  local rep_id = ARGV[4]
  redis.call('HSET', key('rep', rep_id), 'status', 'offline', 'retired', '1')
  for _, q in ipairs(redis.call('SMEMBERS', key('rep', rep_id, 'queues'))) do
    redis.call('ZREM', key('queue', q, 'rr'), rep_id)
  end
  redis.call('DEL', key('rep', rep_id, 'queues'))
  return {1}
end
return redis.error_reply('routing.lua: unknown operation ' .. tostring(op))
