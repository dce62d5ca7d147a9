-- routing: every change to queues, reps and assignments, atomically. One
-- script with several operations, so that they share one choose and assign
-- and so that "pick a rep" and "take a unit of its capacity and caps" are
-- never apart: with any number of routing instances, a rep's open count
-- never exceeds its capacity, its caps hold, and a lead is held by at most
-- one rep.
--
-- The script is written in parts (lua/*.lua, joined at build time):
-- eligible (who can take a lead now, and why not), index (the orders a
-- queue keeps its reps in, so that choosing reads a few), choose (the queue's
-- strategy), assign (assignments, waiting, audit, notifications) and sla
-- (breaches, escalation, overflow); and from common/scripts/parts/, stl.lua
-- (the speed-to-lead histograms, which apply.lua records too) and load.lua
-- (a rep's score in a load index, which ctl's merge.lua writes too).
--
-- Keys are built from the prefix (ARGV[2]); LeadOps runs on one Redis, not a
-- cluster. Layout: common/keys.h.
--
-- ARGV[1] operation, ARGV[2] prefix, ARGV[3] now (ms), then per operation:
--   route   lead_id queue rule score stage_ok queue_stage skills domains stages [audit_ttl_ms]
--           -> {0} nothing to do (a redelivery, or a lead a rep holds or closed)
--            | {1, rep, ingested_at, why} assigned | {2, ingested_at, reason} waiting
--            | {3, ingested_at} below the queue's stage: not routed (nurture)
--            | {4, ingested_at} waiting, re-ordered by its new score
--            | {5, ingested_at} left the queue: its stage fell below the queue's
--           (stages: every stage, lowest first, comma-separated: with it the lead's
--           stage and score are read from its hash, the latest; stage_ok and score,
--           as the message saw them, are the fallback without it.
--           stage_ok: '1' when the lead's stage is at or above queue_stage, the
--           lowest the queue takes; skills: what a rep needs, comma-separated;
--           domains: the lead's email domain and its parents, for account owners;
--           audit_ttl_ms: how long its audit is kept, else <p>:settings says)
--   pull    rep_id max                        -> {assignments...}
--   drain   queue max                         -> {assignments...}
--   close   rep_id lead_id outcome max        -> {status, reason, assignments...}
--   accept  rep_id lead_id                    -> {status, reason}
--   reject  rep_id lead_id reason             -> {status, reason, assignments...}
--   reassign lead_id to_rep by max            -> {status, reason, assignments...}
--   rep     rep_id field value max            -> {status, reason, assignments...}
--   sync    rep_id name capacity status queues daily_cap weekly_cap weight team skills
--           -> {1}: a rep from the config
--   avail   rep_id windows ooo days weeks     -> {1}: its working windows (routing.c)
--   queue_sync queue strategy sla_s sla_bh max_attempts escalate_to overflow_after_s
--           overflow_to owner_first owner_fallback catch_up webhook -> {1}
--   settings audit_ttl_ms                      -> {1}
--   retire  rep_id                            -> {1}: a rep the config no longer has
--   sla     max                               -> {breaches, assignments...}
--   overflow max                              -> {moved, assignments...}
--   reprioritize queue start count half_life_s -> {next start (0: done), re-ordered}
-- An assignment in a reply is {lead_id, queue, rep_id, ingested_at, queued_at, score,
-- attempt, why}.

-- The call's operation, key prefix and time (now_s: now as Redis gets it; a
-- Lua number passed to redis.call is formatted each time); set where the
-- per-call part starts ("--#run": what is above it is defined once, when
-- Redis loads the script as a function library, see common/store.c).
local op, prefix, now, now_s
-- <prefix>:a[:b[:c[:d]]] (no table: a route builds some 30 keys).
local function key(a, b, c, d, ...)
  if select('#', ...) > 0 then return prefix .. ':' .. table.concat({a, b, c, d, ...}, ':') end
  if d then return prefix .. ':' .. a .. ':' .. b .. ':' .. c .. ':' .. d end
  if c then return prefix .. ':' .. a .. ':' .. b .. ':' .. c end
  if b then return prefix .. ':' .. a .. ':' .. b end
  return prefix .. ':' .. a
end

--#include ../../common/scripts/parts/stl.lua
--#include ../../common/scripts/parts/load.lua
--#include lua/eligible.lua
--#include lua/index.lua
--#include lua/choose.lua
--#include lua/assign.lua
--#include lua/sla.lua

local function with_status(status, reason, assignments)
  local out = {status, reason}
  for _, a in ipairs(assignments) do out[#out + 1] = a end
  return out
end

-- The rep holding LEAD_ID, checked against REP_ID; nil and why not.
local function held_by(lead_id, rep_id)
  local state = redis.call('HMGET', key('lead', lead_id), 'status', 'rep', 'queue')
  if state[1] ~= 'assigned' or state[2] ~= rep_id then
    return nil, 'lead ' .. lead_id .. ' is not open with rep ' .. rep_id
  end
  return state
end

-- What 'route' reads of a lead (the first five in this order).
local ROUTE_LEAD_FIELDS = {'status', 'queue', 'ingested_at', 'stage', 'score', 'attempts',
                           'first_queue', 'first_at', 'qualified_at', 'ready_at', 'queued_at',
                           'first_assigned_at'}

-- The rank of each stage in a list of stages ("lead,mql,sql", lowest
-- first), made once per list and kept across calls (the lists are the
-- config's: a few; emptied past STAGE_LISTS_KEPT).
local STAGE_LISTS_KEPT = 64
local stage_lists, stage_lists_n = {}, 0
local function stage_ranks(list)
  local rank = stage_lists[list]
  if rank then return rank end
  rank = {}
  local i = 0
  for name in string.gmatch(list, '[^,]+') do i = i + 1; rank[name] = i end
  if stage_lists_n >= STAGE_LISTS_KEPT then stage_lists, stage_lists_n = {}, 0 end
  stage_lists[list], stage_lists_n = rank, stage_lists_n + 1
  return rank
end

--#run
op, prefix, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
now_s = string.format('%d', now)
audit_ttl_ms = nil

if op == 'route' then
  local lead_id, queue, rule, score = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]) or 0
  local stage_ok = ARGV[8] ~= '0'
  audit_ttl_ms = string.match(ARGV[13] or '', '^%d+$')
  -- Exactly once: the lead must still be in flight from scoring.
  if redis.call('ZREM', key('inflight', 'routing'), lead_id) == 0 then return {0} end
  local lead = key('lead', lead_id)
  -- The lead, read once: what this operation and place and assign need.
  local state = redis.call('HMGET', lead, unpack(ROUTE_LEAD_FIELDS))
  local known = {}
  for i, field in ipairs(ROUTE_LEAD_FIELDS) do known[field] = state[i] end
  local status, ingested_at = state[1], state[3] or tostring(now)
  -- Decide on the lead as it is now, not as the message saw it: scoring may
  -- have sent two messages (a stage down, then up again) and only the first
  -- one to arrive finds the lead in flight; the lead's hash has the latest.
  if ARGV[12] and ARGV[12] ~= '' and state[4] then
    local rank = stage_ranks(ARGV[12])
    stage_ok = (rank[state[4]] or 0) >= (rank[ARGV[9]] or 0)
  end
  score = tonumber(state[5]) or score
  if status == 'assigned' or status == 'closed' then return {0} end
  if status == 'queued' then
    local waiting = key('queue', state[2], 'waiting')
    local old = redis.call('ZSCORE', waiting, lead_id)
    if not stage_ok then
      -- Its score fell below the stage the queue takes: out of the queue,
      -- back to nurture until it rises again.
      redis.call('ZREM', waiting, lead_id)
      redis.call('ZREM', key('overflow'), lead_id)
      redis.call('HSET', lead, 'status', 'nurture', 'waiting_for', ARGV[9], 'updated_at', now_s)
      redis.call('HINCRBY', key('stats'), 'unqueued', '1')
      return {5, ingested_at}
    end
    if old then
      redis.call('ZADD', waiting, 'XX', priority(score, seq_of(old)), lead_id)
      return {4, ingested_at}
    end
  end
  known.skills = ARGV[10] or ''
  redis.call('HSET', lead, 'rule', rule, 'skills', known.skills)
  if not stage_ok then
    redis.call('HSET', lead, 'status', 'nurture', 'waiting_for', ARGV[9], 'updated_at', now_s)
    return {3, ingested_at}
  end
  -- At the queue's stage: no longer waiting for one. The account the email
  -- domain belongs to, most specific domain first.
  redis.call('HDEL', lead, 'waiting_for', 'owner', 'account')
  for domain in string.gmatch(ARGV[11] or '', '[^,]+') do
    local account = redis.call('HMGET', key('account', domain), 'name', 'owner')
    if account[2] then
      redis.call('HSET', lead, 'owner', account[2], 'account', account[1] or domain)
      known.owner = account[2]
      break
    end
  end
  local a, reason = place(lead_id, queue_conf(queue), score, {op = 'route', rule = rule}, known)
  if a then return {1, a[3], a[4], a[8]} end
  return {2, ingested_at, reason}

elseif op == 'pull' then
  return pull(ARGV[4], tonumber(ARGV[5]))

elseif op == 'drain' then
  return drain(ARGV[4], tonumber(ARGV[5]))

elseif op == 'close' then
  local rep_id, lead_id, outcome = ARGV[4], ARGV[5], ARGV[6]
  local state, why = held_by(lead_id, rep_id)
  if not state then return {0, why} end
  unassign(lead_id, rep_id)
  redis.call('HSET', key('lead', lead_id), 'status', 'closed', 'outcome', outcome,
             'closed_at', now, 'updated_at', now, 'closed_by', rep_id)
  redis.call('HINCRBY', key('stats'), 'closed', '1')
  audit(lead_id, {op = 'close', rep = rep_id, outcome = outcome})
  return with_status(1, 'closed', pull(rep_id, tonumber(ARGV[7])))

elseif op == 'accept' then
  local rep_id, lead_id = ARGV[4], ARGV[5]
  local state, why = held_by(lead_id, rep_id)
  if not state then return {0, why} end
  local lead = key('lead', lead_id)
  if redis.call('HGET', lead, 'accepted') == '1' then return {1, 'already accepted'} end
  redis.call('ZREM', key('sla'), lead_id)
  redis.call('HSET', lead, 'accepted', '1', 'accepted_at', now_s, 'updated_at', now_s)
  redis.call('HINCRBY', key('stats'), 'accepted', '1')
  -- From the assignment in hand (a reassigned lead's clock restarted).
  local assigned_at = tonumber(redis.call('HGET', lead, 'assigned_at') or '') or now
  record_speed(key('stl_accept'), math.max(0, now - assigned_at))
  audit(lead_id, {op = 'accept', rep = rep_id})
  return {1, 'accepted'}

elseif op == 'reject' then
  local rep_id, lead_id, reason = ARGV[4], ARGV[5], ARGV[6]
  local state, why = held_by(lead_id, rep_id)
  if not state then return {0, why} end
  local placed = breach(lead_id, rep_id, state[3], 'rejected', 'rejected by ' .. rep_id ..
                        (reason ~= '' and (': ' .. reason) or ''))
  return with_status(1, 'rejected: the lead goes to another rep', placed)

elseif op == 'reassign' then
  local lead_id, to_rep, by = ARGV[4], ARGV[5], ARGV[6]
  local lead = key('lead', lead_id)
  local state = redis.call('HMGET', lead, 'status', 'rep', 'queue')
  if state[1] ~= 'assigned' and state[1] ~= 'queued' then
    return {0, 'lead ' .. lead_id .. ' is ' .. (state[1] or 'unknown') .. ': only an assigned ' ..
               'or waiting lead can be reassigned'}
  end
  local rep = rep_state(to_rep)
  local why = rep_unavailable(rep)
  -- A manager may override hours and caps, not status or capacity.
  if why and why ~= 'out_of_hours' and why ~= 'daily_cap' and why ~= 'weekly_cap' then
    return {0, 'rep ' .. to_rep .. ' cannot take it: ' .. why}
  end
  if state[2] == to_rep then return {0, 'lead ' .. lead_id .. ' is already with ' .. to_rep} end
  local from = state[2]
  if state[1] == 'assigned' then
    unassign(lead_id, from)
  else
    redis.call('ZREM', key('queue', state[3], 'waiting'), lead_id)
  end
  local reason = 'reassigned by ' .. by
  audit(lead_id, {op = 'reassign', from_rep = from or false, chosen = to_rep, why = reason})
  local out = {1, 'reassigned to ' .. to_rep, assign(lead_id, queue_conf(state[3]), rep, reason)}
  if from then
    for _, a in ipairs(pull(from, tonumber(ARGV[7]))) do out[#out + 1] = a end
  end
  return out

elseif op == 'rep' then
  local rep_id, field, value = ARGV[4], ARGV[5], ARGV[6]
  if redis.call('SISMEMBER', key('reps'), rep_id) == 0 then
    return {0, 'no rep ' .. rep_id}
  end
  if field == 'skills' then value = ',' .. value .. ',' end
  redis.call('HSET', key('rep', rep_id), field, value)
  if field == 'capacity' then reindex_load(rep_id) end
  return with_status(1, field .. ' set', pull(rep_id, tonumber(ARGV[7])))

elseif op == 'sync' then
  -- Seeds a rep from the config. Fields the config changed since it was last
  -- applied are taken; run-time changes (by command) otherwise survive restarts.
  local rep_id, name, queues = ARGV[4], ARGV[5], ARGV[8]
  local rep = key('rep', rep_id)
  local fields = {capacity = ARGV[6], status = ARGV[7], daily_cap = ARGV[9] or '0',
                  weekly_cap = ARGV[10] or '0', weight = ARGV[11] or '1', team = ARGV[12] or '',
                  skills = ',' .. (ARGV[13] or '') .. ','}
  redis.call('SADD', key('reps'), rep_id)
  local fresh = redis.call('EXISTS', rep) == 0
  redis.call('HSET', rep, 'name', name)
  if fresh then redis.call('HSET', rep, 'open', 0, 'assigned_total', 0) end
  for field, value in pairs(fields) do
    if fresh or redis.call('HGET', rep, 'cfg_' .. field) ~= value then
      redis.call('HSET', rep, field, value, 'cfg_' .. field, value)
    end
  end
  local wanted = {}
  for q in string.gmatch(queues, '[^,]+') do wanted[q] = true end
  for _, q in ipairs(redis.call('SMEMBERS', key('rep', rep_id, 'queues'))) do
    if not wanted[q] then
      redis.call('SREM', key('rep', rep_id, 'queues'), q)
      index_leave(q, rep_id)
    end
  end
  -- A rep new to a queue joins the round robin at the back: no burst.
  -- Behind the rep served last (whose position is seq) whatever its id;
  -- ahead of the next assignment (seq + 1).
  local seq = tonumber(redis.call('GET', key('seq')) or '0') + 0.5
  for q in pairs(wanted) do
    redis.call('SADD', key('queues'), q)
    redis.call('SADD', key('rep', rep_id, 'queues'), q)
    redis.call('ZADD', key('queue', q, 'rr'), 'NX', seq, rep_id)
    index_join(q, redis.call('HGET', key('queue', q), 'strategy'), rep_id)
  end
  note_load_queues(rep_id)
  reindex_load(rep_id) -- its capacity may have changed
  redis.call('HDEL', rep, 'retired')
  return {1}

elseif op == 'avail' then
  redis.call('HSET', key('rep', ARGV[4]), 'avail', ARGV[5], 'ooo', ARGV[6], 'days', ARGV[7],
             'weeks', ARGV[8], 'avail_at', now)
  return {1}

elseif op == 'queue_sync' then
  local q = ARGV[4]
  redis.call('SADD', key('queues'), q)
  redis.call('HSET', key('queue', q), 'strategy', ARGV[5], 'sla_s', ARGV[6], 'sla_bh', ARGV[7],
             'max_attempts', ARGV[8], 'escalate_to', ARGV[9], 'overflow_after_s', ARGV[10],
             'overflow_to', ARGV[11], 'owner_first', ARGV[12], 'owner_fallback', ARGV[13],
             'catch_up', ARGV[14], 'webhook', ARGV[15])
  -- The strategy's index, built again from the round-robin members (a
  -- weighted queue keeps its passes); the others' dropped.
  local strategy = ARGV[5]
  local had_load = redis.call('DEL', key('queue', q, 'load')) == 1
  redis.call('DEL', key('queue', q, 'swrr'))
  if strategy ~= 'weighted' then redis.call('DEL', key('queue', q, 'pass')) end
  local loads = had_load or strategy == 'least_loaded' -- the reps' lq change
  if loads or strategy == 'weighted' then
    for _, rep_id in ipairs(redis.call('ZRANGE', key('queue', q, 'rr'), 0, -1)) do
      index_join(q, strategy, rep_id)
      if loads then note_load_queues(rep_id) end
    end
  end
  return {1}

elseif op == 'settings' then
  redis.call('HSET', key('settings'), 'audit_ttl_ms', ARGV[4])
  return {1}

elseif op == 'retire' then
  -- Gone from the config: no new leads (offline, out of every queue's
  -- rotation). It stays listed, with the leads it holds, until those are
  -- closed or reassigned.
  local rep_id = ARGV[4]
  redis.call('HSET', key('rep', rep_id), 'status', 'offline', 'retired', '1')
  for _, q in ipairs(redis.call('SMEMBERS', key('rep', rep_id, 'queues'))) do
    index_leave(q, rep_id)
  end
  redis.call('DEL', key('rep', rep_id, 'queues'))
  redis.call('HSET', key('rep', rep_id), 'lq', '')
  return {1}

elseif op == 'sla' then
  return sla_sweep(tonumber(ARGV[4]))

elseif op == 'overflow' then
  return overflow_sweep(tonumber(ARGV[4]))

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
end
return redis.error_reply('routing.lua: unknown operation ' .. tostring(op))
