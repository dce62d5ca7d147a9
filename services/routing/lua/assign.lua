-- assign: giving a lead to a rep and taking it back, waiting in a queue,
-- the audit record and the notifications. Part of routing.lua.

-- (record_speed: common/scripts/parts/stl.lua, included by routing.lua.)

-- Adds BY (a whole number) to FIELD of the KPI day hash of time AT (ms):
-- <p>:kpi:d:<UTC day number>, and notes the day in <p>:kpi:days when the
-- field starts (its first increment returns BY): a day with any field is noted.
local KPI_DAY_MS = 86400000
local kpi_day, kpi_day_text -- the last day number seen and its text, kept across calls
local function kpi_add(at, field, by)
  local day = math.floor(at / KPI_DAY_MS)
  if day ~= kpi_day then kpi_day, kpi_day_text = day, string.format('%d', day) end
  by = math.floor(by)
  if redis.call('HINCRBY', key('kpi', 'd', kpi_day_text), field,
                by == 1 and '1' or string.format('%d', by)) == by then
    redis.call('ZADD', key('kpi', 'days'), kpi_day_text, kpi_day_text)
  end
end

-- Appends RECORD (a table) to the lead's audit list (a list of JSON
-- records, not a stream: a stream costs about 4.7 KB a lead), the last
-- AUDIT_KEPT kept for the configured time after the lead's last decision.
local AUDIT_KEPT = 50
local audit_ttl_ms = nil -- text; read once per call of the script (reset where it starts)
local function audit(lead_id, record)
  record.at = now
  local k = key('lead', lead_id, 'audit')
  if redis.call('RPUSH', k, cjson.encode(record)) > AUDIT_KEPT then
    redis.call('LTRIM', k, -AUDIT_KEPT, -1)
  end
  audit_ttl_ms = audit_ttl_ms or
                 string.match(redis.call('HGET', key('settings'), 'audit_ttl_ms') or '', '^%d+$') or
                 '2592000000'
  redis.call('PEXPIRE', k, audit_ttl_ms)
end

-- Queues a notification for the queue's webhook (routing.c sends them,
-- with retries, outside this script).
local function notify(conf, kind, lead_id, rep_id, text)
  if conf.webhook == '' then return end
  redis.call('XADD', key('notify'), 'MAXLEN', '~', 10000, '*', 'queue', conf.name, 'kind', kind,
             'lead', lead_id, 'rep', rep_id or '', 'text', text, 'at', now_s)
end

-- When an assignment to REP must be accepted: the queue's SLA from now, on
-- the wall clock, or counted in the rep's working windows (business hours).
local function sla_deadline(conf, rep)
  if conf.sla_s <= 0 then return nil end
  local need = conf.sla_s * 1000
  if not conf.sla_bh or rep.avail == nil or rep.avail == '*' then return now + need end
  local last = now
  for s, e in string.gmatch(rep.avail, '(%d+)-(%d+)') do
    local a, b = math.max(tonumber(s), now), tonumber(e)
    if b > a then
      if b - a >= need then return a + need end
      need, last = need - (b - a), b
    end
  end
  return last + need -- past the windows computed: the wall clock from their end
end

-- A waiting lead's priority: higher score first (to 0.01), then arrival
-- order by a global sequence (SEQ_SPAN: index.lua).
local function priority(score, seq)
  local clamped = math.max(0, math.min(1000, tonumber(score) or 0))
  return math.floor((1000 - clamped) * 100 + 0.5) * SEQ_SPAN + seq
end

-- Gives LEAD_ID to REP (eligible: the caller checked) from queue CONF.
-- KNOWN: the lead as the caller read it in this call (route), or nil.
-- Returns the assignment {lead, queue, rep, ingested_at, queued_at, score,
-- attempt, why}.
local function assign(lead_id, conf, rep, why, known)
  local q = conf.name
  local rk = key('rep', rep.id)
  local open = redis.call('HINCRBY', rk, 'open', '1')
  redis.call('HINCRBY', rk, 'assigned_total', '1')
  redis.call('SADD', key('rep', rep.id, 'leads'), lead_id)
  bump_counters(rep)
  -- Round robin order: the rep just served moves to the back of every
  -- queue it works, by a global sequence that survives restarts; and so
  -- does its place by load in the least_loaded ones.
  local seq = redis.call('INCR', key('seq'))
  for _, rq in ipairs(redis.call('SMEMBERS', key('rep', rep.id, 'queues'))) do
    redis.call('ZADD', key('queue', rq, 'rr'), 'XX', seq, rep.id)
  end
  index_load(rep.id, rep.lq, open, rep.capacity, seq)
  redis.call('HINCRBY', key('queue', q, 'count'), rep.id, '1')
  local lead = key('lead', lead_id)
  local state, attempt, first
  if known then
    -- Read once by the caller: a lead that was not waiting is in no
    -- overflow set, one that was not assigned has no SLA clock.
    state = {known.ingested_at, known.score, known.qualified_at, known.ready_at, known.queued_at}
    attempt = (tonumber(known.attempts) or 0) + 1
    first = not known.first_assigned_at
  else
    attempt = redis.call('HINCRBY', lead, 'attempts', '1')
    state = redis.call('HMGET', lead, 'ingested_at', 'score', 'qualified_at', 'ready_at',
                       'queued_at')
    first = redis.call('HSETNX', lead, 'first_assigned_at', now_s) == 1
  end
  if not known or known.status == 'queued' then redis.call('ZREM', key('overflow'), lead_id) end
  local fields = {'status', 'assigned', 'queue', q, 'rep', rep.id, 'assigned_at', now_s,
                  'updated_at', now_s, 'accepted', '0', 'why', why}
  local function add(name, value) fields[#fields + 1] = name; fields[#fields + 1] = value end
  if known then
    add('attempts', string.format('%d', attempt))
    if first then add('first_assigned_at', now_s) end
  end
  local due = sla_deadline(conf, rep)
  if due then
    redis.call('ZADD', key('sla'), due, lead_id)
    add('sla_due', string.format('%d', due))
    redis.call('HSET', lead, unpack(fields))
    redis.call('HDEL', lead, 'waiting_reason', 'waiting_for')
  else
    if not known or known.status == 'assigned' then redis.call('ZREM', key('sla'), lead_id) end
    redis.call('HSET', lead, unpack(fields))
    redis.call('HDEL', lead, 'waiting_reason', 'waiting_for', 'sla_due')
  end
  local ingested_at = tonumber(state[1]) or now
  if first then
    -- Speed to lead runs from the moment the lead became ready for sales: its
    -- intake when it qualified at once, else the activity that qualified it
    -- (the last time it rose to a routed stage).
    local ready_at = math.max(ingested_at, tonumber(state[4]) or tonumber(state[3]) or ingested_at)
    local speed_ms = math.max(0, now - ready_at)
    record_speed(key('stl'), speed_ms)
    -- The rep's speed to lead, on the day of the assignment.
    kpi_add(now, rep.id .. '|stl_ms_sum', math.floor(speed_ms))
    kpi_add(now, rep.id .. '|stl_n', 1)
    redis.call('HINCRBY', key('stats'), 'assigned', '1')
  else
    redis.call('HINCRBY', key('stats'), 'reassigned', '1')
  end
  notify(conf, 'assignment', lead_id, rep.id, 'assigned to ' .. rep.id .. ' (' .. why .. ')')
  return {lead_id, q, rep.id, tostring(ingested_at), state[5] or '0', state[2] or '0', attempt, why}
end

-- Takes LEAD_ID back from REP_ID: one open lead less, no SLA clock.
local function unassign(lead_id, rep_id)
  if redis.call('SREM', key('rep', rep_id, 'leads'), lead_id) == 1 then
    redis.call('HINCRBY', key('rep', rep_id), 'open', '-1')
    reindex_load(rep_id)
  end
  redis.call('ZREM', key('sla'), lead_id)
  redis.call('HDEL', key('lead', lead_id), 'rep', 'sla_due')
end

-- Puts LEAD_ID in queue CONF's waiting set with REASON (why no rep took it).
local function put_waiting(lead_id, conf, score, reason)
  local seq = redis.call('INCR', key('seq'))
  redis.call('ZADD', key('queue', conf.name, 'waiting'), priority(score, seq), lead_id)
  redis.call('HSET', key('lead', lead_id), 'status', 'queued', 'queue', conf.name,
             'queued_at', now_s, 'updated_at', now_s, 'waiting_reason', reason)
  redis.call('HINCRBY', key('stats'), 'queued', '1')
  if conf.overflow_after_s > 0 then
    redis.call('ZADD', key('overflow'), 'NX', now + 1000 * conf.overflow_after_s, lead_id)
  end
end

-- Places LEAD_ID in queue CONF: assigned to the chosen rep, or waiting.
-- RECORD is the audit record so far (op, rule, ...). KNOWN: the lead as the
-- caller read it in this call (route, see assign), or nil. Returns the
-- assignment, or nil and the reason it waits.
local function place(lead_id, conf, score, record, known)
  -- Demand per queue: a lead counts once, in the first queue it is placed
  -- in, on the day of its own time (first_at), else of its intake.
  local lead = key('lead', lead_id)
  if known then
    if not known.first_queue then
      redis.call('HSET', lead, 'first_queue', conf.name)
      known.first_queue = conf.name
      kpi_add(tonumber(known.first_at) or tonumber(known.ingested_at) or now,
              'queue:' .. conf.name .. '|leads', 1)
    end
  elseif redis.call('HSETNX', lead, 'first_queue', conf.name) == 1 then
    local times = redis.call('HMGET', lead, 'first_at', 'ingested_at')
    kpi_add(tonumber(times[1]) or tonumber(times[2]) or now, 'queue:' .. conf.name .. '|leads', 1)
  end
  local rep, why, candidates, excluded = choose(conf, lead_ctx(lead_id, known))
  record.queue, record.strategy, record.candidates = conf.name, conf.strategy, candidates
  if rep then
    record.chosen, record.why = rep.id, why
    audit(lead_id, record)
    return assign(lead_id, conf, rep, why, known), nil
  end
  local reason = (why or '') .. no_rep_reason(excluded)
  record.outcome, record.why = 'waiting', reason
  audit(lead_id, record)
  put_waiting(lead_id, conf, score, reason)
  return nil, reason
end

-- Assigns waiting leads to REP_ID while it can take one: the best waiting
-- lead of its queues that it may take (skills, not tried before), looking
-- at the first PULL_SCAN of each queue.
local PULL_SCAN = 20
local function pull(rep_id, max)
  local out = {}
  local queues = redis.call('SMEMBERS', key('rep', rep_id, 'queues'))
  while #out < max do
    local rep = rep_state(rep_id)
    if rep_unavailable(rep) then break end
    local best_q, best_lead, best_p = nil, nil, nil
    for _, q in ipairs(queues) do
      local top = redis.call('ZRANGE', key('queue', q, 'waiting'), 0, PULL_SCAN - 1, 'WITHSCORES')
      for i = 1, #top, 2 do
        local p = tonumber(top[i + 1])
        if best_p and p >= best_p then break end
        if not rep_excluded(rep, lead_ctx(top[i])) then
          best_q, best_lead, best_p = q, top[i], p
          break
        end
      end
    end
    if not best_lead then break end
    redis.call('ZREM', key('queue', best_q, 'waiting'), best_lead)
    local why = 'freed up: the best waiting lead it may take'
    audit(best_lead, {op = 'pull', queue = best_q, chosen = rep_id, why = why})
    out[#out + 1] = assign(best_lead, queue_conf(best_q), rep, why)
  end
  return out
end

-- Gives waiting leads of queue Q to reps that can take them now (back in
-- their hours, caps reset, out of office over): up to MAX of the first
-- leads, each chosen by the queue's strategy.
local function drain(q, max)
  local out = {}
  local conf = queue_conf(q)
  local any = false
  for _, rep_id in ipairs(redis.call('ZRANGE', key('queue', q, 'rr'), 0, -1)) do
    if not rep_unavailable(rep_state(rep_id)) then any = true break end
  end
  if not any and not conf.owner_first then return out end
  for _, lead_id in ipairs(redis.call('ZRANGE', key('queue', q, 'waiting'), 0, max - 1)) do
    local rep, why, candidates = choose(conf, lead_ctx(lead_id))
    if rep then
      redis.call('ZREM', key('queue', q, 'waiting'), lead_id)
      audit(lead_id, {op = 'drain', queue = q, strategy = conf.strategy, candidates = candidates,
                      chosen = rep.id, why = why})
      out[#out + 1] = assign(lead_id, conf, rep, why)
    end
  end
  return out
end
