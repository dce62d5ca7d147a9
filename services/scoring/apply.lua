-- apply: applies one lead or activity event to the lead's state, exactly once,
-- moves the lead between lifecycle stages, and hands it to routing when
-- routing has something to do: the lead reached a stage queues take, moved
-- between stages, or changed score while it waits in a queue. 'restage'
-- re-scores a lead whose decaying score crosses a stage threshold now.
--
-- The score is fit + model + engagement. Engagement is stored as a value at a
-- time (engagement, eng_at) and decays by half every half-life: its value at
-- time T is engagement * 2^(-(T - eng_at) / half-life), so that no lead needs
-- a write to decay. Each activity adds its points decayed from when it
-- happened; a capped type adds at most its cap per period (fixed windows of
-- the activity's time). The last 100 activities are kept in <lead>:acts for
-- explanations. When a lead's decaying score will cross a stage threshold,
-- the time it does is kept in <p>:stage_due for the restage sweep.
--
-- KEYS[1] <p>:inflight:scoring      (the ingest hop: the event must be in it)
-- KEYS[2] <p>:inflight:scoring:msg
-- KEYS[3] <p>:lead:<lead_id>        (the lead the event belongs to, aliases resolved)
-- KEYS[4] <p>:inflight:routing      (the next hop, by lead id)
-- KEYS[5] <p>:stats
-- KEYS[6] <p>:leads                 (lead ids by first ingest time)
-- KEYS[7] <p>:orphans               (lead ids with activities but no lead, by deadline)
-- KEYS[8] <p>:stage_due             (lead ids by when their decaying score crosses a threshold)
-- KEYS[9] <p>:kpi:d:                (the prefix of the KPI day hashes: <p>:kpi:d:<day>)
-- KEYS[10] <p>:kpi:days             KEYS[11] <p>:kpi:origin     KEYS[12] <p>:deals
-- KEYS[13] <p>:grades (grade -> leads) KEYS[14] <p>:score_hist (score bucket -> leads)
-- KEYS[15] <p>:stl_touch             (intake to first call or email, as <p>:stl)
-- KEYS[16] <p>:alias:<lead_id>       only when the lead id is as the event came (scoring
--                                    did not look it up): an alias refuses the event ({3})
-- ARGV[1] event id ('' for restage)  ARGV[2] 'lead' | 'activity' | 'restage'
-- ARGV[3] lead id     ARGV[4] now (ms)     ARGV[5] ingested at (ms)
-- ARGV[6] routing redelivery deadline (ms)  ARGV[7] orphan window (s)
-- ARGV[8] engagement half-life (s, 0: no decay)
-- ARGV[9] the lowest stage routing takes (0-based index into the stages)
-- ARGV[10] stages, lowest first: "lead;mql:20:15;sql:60:50" (name:enter:exit)
-- lead:     ARGV[11] merged Lead protobuf  ARGV[12] fit  ARGV[13] grade
--           ARGV[14] fit rules matched (JSON)  ARGV[15] revision the merge was computed from
--           ARGV[16] the event's time (ms)  ARGV[17] changes (JSON object, '' for none)
--           ARGV[18] the lead id the event came with (differs from ARGV[3] when merged)
--           ARGV[19] model points  ARGV[20] model probability ('' without a model)
--           ARGV[21] model's top contributions (JSON)  ARGV[22] the model's description
--           ARGV[23] the lead's source ('' unknown)
-- activity: ARGV[11] activity type  ARGV[12] points  ARGV[13] occurred at (ms)
--           ARGV[14] cap (0: none)  ARGV[15] cap period (s)  ARGV[16] outcome
--           ARGV[17] rep id ('' none)  ARGV[18] value  ARGV[19] product
--           ARGV[20] when the deal opened (ms, its engage_date; 0 unknown)
-- Returns {0} for an event already applied (a redelivery), {3} when the lead
-- changed since scoring read it (merge again), else
-- {1, score, stage, previous stage ('' when unchanged), to routing (0|1),
--  lead protobuf, ingested at, fit, engagement, grade, model points}.
-- The call's lead key, kind, lead id, time, half-life, activity list and
-- conversion hash: set where the per-call part starts ("--#run": what is
-- above it is defined once, when Redis loads the script as a function
-- library, see common/store.c).
local lead, kind, lead_id, now, half_life_ms, acts, kpi_origin
local ACTS_KEPT = 100

local function num(x) return string.format('%.17g', x) end

-- Appends ENTRY (a JSON object) to the lead's history: a list, not a stream
-- (a stream costs about 4.7 KB a lead), the last HISTORY_KEPT kept.
local HISTORY_KEPT = 100
local function history(entry)
  if redis.call('RPUSH', lead .. ':history', entry) > HISTORY_KEPT then
    redis.call('LTRIM', lead .. ':history', -HISTORY_KEPT, -1)
  end
end

-- KPIs (layout: common/keys.h) are counted here, past the in-flight gate
-- below, so that each event counts exactly once however often it comes.
-- A day is a UTC day number of the fact's own time (the activity's, the
-- lead's), not of when it was applied, so an imported history falls on its
-- own days.
local DAY_MS = 86400000
local KPI_INPUTS = {call = 'calls', email_sent = 'emails', meeting = 'meetings',
                    demo_completed = 'demos', proposal_sent = 'proposals',
                    opportunity_created = 'opportunities'}

-- Adds BY to FIELD of the KPI day hash of the time AT (ms); FLOAT: by
-- HINCRBYFLOAT (money, days), else BY is a whole number. The day is noted
-- in <p>:kpi:days when a field of it starts (a whole count: its first
-- increment returns BY), so a day with any field is noted.
local kpi_day, kpi_day_text -- the last day number seen and its text, kept across calls
local function kpi_add(at, field, by, float)
  local n = math.floor(at / DAY_MS)
  if n ~= kpi_day then kpi_day, kpi_day_text = n, string.format('%d', n) end
  local day = kpi_day_text
  if not float then by = math.floor(by) end
  if float then
    redis.call('HINCRBYFLOAT', KEYS[9] .. day, field, num(by))
  elseif redis.call('HINCRBY', KEYS[9] .. day, field,
                    by == 1 and '1' or string.format('%d', by)) ~= by then
    return
  end
  redis.call('ZADD', KEYS[10], day, day)
end

--#include ../../common/scripts/parts/stl.lua

-- Moves one lead from field OLD to field NEW of the distribution hash KEY
-- (either may be nil: a lead entering or leaving it).
local function move_count(key, old, new)
  if old == new then return end
  if old then redis.call('HINCRBY', key, old, '-1') end
  if new then redis.call('HINCRBY', key, new, '1') end
end

-- The score bucket a score falls in: "<0", "0-10", ..., "90-100", ">=100".
local SCORE_BUCKETS = {}
for low = 0, 90, 10 do SCORE_BUCKETS[low / 10 + 1] = (low .. '-') .. (low + 10) end
local function score_bucket(score)
  if score < 0 then return '<0' end
  if score >= 100 then return '>=100' end
  return SCORE_BUCKETS[math.floor(score / 10) + 1]
end

-- A grade as the grade distribution counts it.
local function grade_name(g) return (g and g ~= '') and g or 'none' end

local function log2(x) return math.log(x) / math.log(2) end

-- Sets FIELD of hash KEY to T when it has none or a later one.
local function keep_earliest(key, field, t)
  local old = tonumber(redis.call('HGET', key, field) or '')
  if not old or t < old then redis.call('HSET', key, field, string.format('%d', t)) end
end

-- The factor by which engagement decays from FROM to TO (ms).
local function decay(from, to)
  if half_life_ms <= 0 or to <= from then return 1 end
  return 2 ^ (-(to - from) / half_life_ms)
end

-- Engagement of the hash KEY as of now.
local function engagement_now(key)
  local e = redis.call('HMGET', key, 'engagement', 'eng_at')
  return (tonumber(e[1]) or 0) * decay(tonumber(e[2]) or now, now)
end

-- Stages, lowest first ("lead;mql:20:15;sql:60:50": name:enter:exit; index
-- 1 has no thresholds): names, enter and exit scores. Parsed once per list
-- and kept across calls (the lists are the config's: a few; emptied past
-- STAGE_LISTS_KEPT).
local STAGE_LISTS_KEPT = 64
local stage_lists, stage_lists_n = {}, 0
local function stages_of(list)
  local parsed = stage_lists[list]
  if not parsed then
    local names, enter, exit = {}, {}, {}
    for spec in string.gmatch(list, '[^;]+') do
      local i = #names + 1
      names[i], enter[i], exit[i] = string.match(spec, '^([^:]+):?([^:]*):?([^:]*)$')
      enter[i], exit[i] = tonumber(enter[i]), tonumber(exit[i])
    end
    parsed = {names, enter, exit}
    if stage_lists_n >= STAGE_LISTS_KEPT then stage_lists, stage_lists_n = {}, 0 end
    stage_lists[list], stage_lists_n = parsed, stage_lists_n + 1
  end
  return parsed[1], parsed[2], parsed[3]
end

-- What scoring reads of the lead after the event (see below), in this order.
local STATE_FIELDS = {'fit', 'model_points', 'has_lead', 'qualified', 'status', 'lead',
                      'ingested_at', 'grade', 'stage', 'score', 'engagement', 'eng_at',
                      'score_bucket', 'restage_at'}
--#run
lead, kind, lead_id, now = KEYS[3], ARGV[2], ARGV[3], tonumber(ARGV[4])
half_life_ms, acts, kpi_origin = 1000 * tonumber(ARGV[8]), KEYS[3] .. ':acts', KEYS[11]

-- A lead id that stands for another lead: scoring looks it up and merges again.
if KEYS[16] and redis.call('EXISTS', KEYS[16]) == 1 then return {3} end

-- A lead event reads the lead once (a missing field is false): what it
-- needs itself (the first eleven), then STATE_FIELDS as they were.
local before = nil
if kind == 'lead' then
  before = redis.call('HMGET', lead, 'rev', 'has_lead', 'grade', 'lead_time', 'origin',
                      'first_at', 'won_first', 'won_value', 'model_p', 'activities',
                      'ingested_at', unpack(STATE_FIELDS))
end
if kind == 'lead' and (before[1] or '0') ~= ARGV[15] then
  return {3}
end
if kind == 'restage' then
  local due = redis.call('ZSCORE', KEYS[8], lead_id)
  if not due or tonumber(due) > now then return {0} end
  redis.call('ZREM', KEYS[8], lead_id)
else
  if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return {0} end
  redis.call('HDEL', KEYS[2], ARGV[1])
end

local cause = kind
-- The lead's fields a lead event writes, with the rest in one HSET at the
-- end; nil when they are written already.
local lead_writes = nil
-- STATE_FIELDS of the lead now, when known without reading it again.
local known_state = nil
if kind == 'lead' then
  local was_lead = before[2] == '1'
  -- The grade distribution counts leads as last scored: a lead leaves its
  -- old grade when a new event grades it otherwise.
  local old_grade = was_lead and grade_name(before[3]) or nil
  move_count(KEYS[13], old_grade, grade_name(ARGV[13]))
  local newest = math.max(tonumber(before[4] or '0'), tonumber(ARGV[16]))
  -- The lead's first time (its creation at the source, else its intake):
  -- deals and first touches are timed from it.
  local event_at = tonumber(ARGV[16]) or 0
  if event_at <= 0 then event_at = tonumber(ARGV[5]) end
  local fields = {'lead', ARGV[11], 'fit', ARGV[12], 'grade', ARGV[13], 'reasons', ARGV[14],
                  'has_lead', '1', 'updated_at', ARGV[4], 'lead_time',
                  string.format('%d', newest), 'model_points', ARGV[19],
                  'rev', string.format('%d', (tonumber(before[1]) or 0) + 1)}
  local function add(name, value) fields[#fields + 1] = name; fields[#fields + 1] = value end
  if ARGV[20] ~= '' then
    add('model_p', ARGV[20]); add('model_top', ARGV[21]); add('model', ARGV[22])
  elseif before[9] then
    redis.call('HDEL', lead, 'model_p', 'model_top', 'model')
  end
  local first_at = tonumber(before[6] or '')
  if not first_at or event_at < first_at then add('first_at', string.format('%d', event_at)) end
  local origin = before[5]
  if not was_lead then
    -- A new lead counts under the source it came with.
    origin = (ARGV[23] and ARGV[23] ~= '') and ARGV[23] or 'unknown'
    add('origin', origin)
  end
  if not before[11] then add('ingested_at', ARGV[5]) end
  lead_writes = fields
  if not was_lead then
    redis.call('HINCRBY', kpi_origin, 'leads:' .. origin, '1')
    kpi_add(event_at, 'src:' .. origin .. '|leads', 1)
    -- A deal won before it came (its activity waited) counts under its origin now.
    if before[7] == '1' then
      redis.call('HINCRBY', kpi_origin, 'won:' .. origin, '1')
      redis.call('HINCRBYFLOAT', kpi_origin, 'won_value:' .. origin, before[8] or '0')
    end
  end
  -- The lead came: activities that waited for it are kept for good (only
  -- a lead whose activities came first can be waiting).
  if not was_lead and before[10] then redis.call('ZREM', KEYS[7], lead_id) end
  -- It came under another id and merged into this lead: activities that
  -- were scored under that id before it merged move here too.
  local came_as = ARGV[18] or lead_id
  if came_as ~= lead_id then
    local orphan = string.sub(lead, 1, #lead - #lead_id) .. came_as
    if redis.call('EXISTS', orphan) == 1 and redis.call('HGET', orphan, 'has_lead') ~= '1' then
      redis.call('HSET', lead, unpack(fields))
      lead_writes = nil
      local engagement = engagement_now(lead) + engagement_now(orphan)
      redis.call('HSET', lead, 'engagement', num(engagement), 'eng_at', now)
      local fields = redis.call('HGETALL', orphan)
      for i = 1, #fields, 2 do
        local name, value = fields[i], fields[i + 1]
        if name == 'activities' or string.sub(name, 1, 4) == 'act:' then
          redis.call('HINCRBY', lead, name, value)
        elseif string.sub(name, 1, 5) == 'capw:' or string.sub(name, 1, 5) == 'capu:' or
               name == 'first_touch_at' then
          redis.call('HSETNX', lead, name, value)
        elseif name == 'first_act_at' then
          keep_earliest(lead, name, tonumber(value))
        elseif name == 'won_value' then
          -- Deals won while the activities waited under the other id.
          redis.call('HINCRBYFLOAT', lead, name, value)
          if origin then redis.call('HINCRBYFLOAT', kpi_origin, 'won_value:' .. origin, value) end
        elseif name == 'won_first' then
          if redis.call('HSETNX', lead, name, '1') == 1 and origin then
            redis.call('HINCRBY', kpi_origin, 'won:' .. origin, '1')
          end
        end
      end
      for _, entry in ipairs(redis.call('LRANGE', orphan .. ':acts', 0, ACTS_KEPT - 1)) do
        redis.call('RPUSH', acts, entry)
      end
      redis.call('LTRIM', acts, 0, ACTS_KEPT - 1)
      redis.call('DEL', orphan, orphan .. ':acts')
      redis.call('ZREM', KEYS[7], came_as)
      redis.call('ZREM', KEYS[8], came_as)
    end
  end
  if ARGV[17] ~= '' then
    -- ARGV[17] is scoring's own JSON object: embedded as it is.
    history('{"event_id":' .. cjson.encode(ARGV[1]) .. ',"at":' .. ARGV[16] .. ',"changes":' ..
            ARGV[17] .. '}')
  end
  if not before[11] then redis.call('ZADD', KEYS[6], ARGV[5], lead_id) end
  if lead_writes then
    -- Nothing else wrote the lead: it is what it was with FIELDS.
    known_state = {ARGV[12], ARGV[19], '1'}
    for i = 4, #STATE_FIELDS do known_state[i] = before[11 + i] end
    known_state[6], known_state[8] = ARGV[11], ARGV[13]
    known_state[7] = before[11] or ARGV[5]
  end
elseif kind == 'activity' then
  local activity_type, points = ARGV[11], tonumber(ARGV[12])
  local at = tonumber(ARGV[13]) or 0
  if at <= 0 or at > now then at = now end
  -- A cap counts the type's points per fixed window of the activity's time;
  -- an activity from an earlier window than the one counted is held to the
  -- cap on its own.
  local counted, cap = points, tonumber(ARGV[14]) or 0
  if cap > 0 and points > 0 then
    local window = math.floor(at / (1000 * tonumber(ARGV[15])))
    local wkey, ukey = 'capw:' .. activity_type, 'capu:' .. activity_type
    local state = redis.call('HMGET', lead, wkey, ukey)
    local counted_window, used = tonumber(state[1]), tonumber(state[2]) or 0
    if counted_window == nil or window > counted_window then
      counted_window, used = window, 0
    end
    if window == counted_window then
      counted = math.max(0, math.min(points, cap - used))
      redis.call('HSET', lead, wkey, string.format('%d', window), ukey, num(used + counted))
    else
      counted = math.min(points, cap)
    end
    if counted < points then redis.call('HINCRBY', KEYS[5], 'capped', '1') end
  end
  local engagement = engagement_now(lead) + counted * decay(at, now)
  redis.call('HSET', lead, 'engagement', num(engagement), 'eng_at', now,
             'last_activity_at', now, 'updated_at', now)
  redis.call('HINCRBY', lead, 'activities', '1')
  redis.call('HINCRBY', lead, 'act:' .. activity_type, '1')
  redis.call('LPUSH', acts, cjson.encode({id = ARGV[1], type = activity_type, at = at,
                                           points = counted, base = points,
                                           outcome = ARGV[16]}))
  redis.call('LTRIM', acts, 0, ACTS_KEPT - 1)
  -- KPIs: the rep who did it (else the one holding the lead), the rep's
  -- inputs and deals on the activity's day, the lead's first touch, the
  -- deal record, and conversion by origin (a lead's first won deal).
  local facts = redis.call('HMGET', lead, 'has_lead', 'rep', 'first_at', 'origin')
  local has_lead = facts[1] == '1'
  local rep = ARGV[17] or ''
  if rep == '' then rep = facts[2] or '' end
  if redis.call('HSETNX', lead, 'first_act_at', string.format('%d', at)) == 0 then
    keep_earliest(lead, 'first_act_at', at)
  end
  local input = KPI_INPUTS[activity_type]
  if input and rep ~= '' then kpi_add(at, rep .. '|' .. input, 1) end
  local lead_at = tonumber(facts[3] or '')
  if (activity_type == 'call' or activity_type == 'email_sent') and rep ~= '' and has_lead and
     lead_at and redis.call('HSETNX', lead, 'first_touch_at', string.format('%d', at)) == 1 then
    kpi_add(at, rep .. '|touch_ms_sum', math.max(0, at - lead_at))
    record_speed(KEYS[15], math.max(0, at - lead_at))
    kpi_add(at, rep .. '|touch_n', 1)
  end
  if activity_type == 'deal_won' or activity_type == 'deal_lost' then
    local won = activity_type == 'deal_won'
    local value = tonumber(ARGV[18]) or 0
    local opened = tonumber(ARGV[20]) or 0
    if opened <= 0 then
      opened = lead_at or tonumber(redis.call('HGET', lead, 'first_act_at') or '') or 0
    end
    if rep ~= '' then
      kpi_add(at, rep .. (won and '|won' or '|lost'), 1)
      kpi_add(at, rep .. (won and '|won_value' or '|lost_value'), value, true)
      if opened > 0 then
        kpi_add(at, rep .. '|close_days_sum', math.max(0, at - opened) / DAY_MS, true)
        kpi_add(at, rep .. '|close_days_n', 1)
      end
    end
    redis.call('XADD', KEYS[12], '*', 'rep', rep, 'lead', lead_id,
               'outcome', won and 'won' or 'lost', 'value', num(value), 'product', ARGV[19] or '',
               'at', string.format('%d', at),
               'opened_at', opened > 0 and string.format('%d', opened) or '')
    if won then
      -- Conversion counts leads that came; a deal for a lead not here yet
      -- is kept on it and counted when the lead comes (see above).
      redis.call('HINCRBYFLOAT', lead, 'won_value', num(value))
      local first_won = redis.call('HSETNX', lead, 'won_first', '1') == 1
      if has_lead and facts[4] then
        if first_won then redis.call('HINCRBY', kpi_origin, 'won:' .. facts[4], '1') end
        redis.call('HINCRBYFLOAT', kpi_origin, 'won_value:' .. facts[4], num(value))
      end
    end
  end
  -- Activities for a lead not seen yet wait for it, but not forever: the
  -- orphan sweep (orphans.lua) dead-letters them when the window ends.
  if redis.call('HGET', lead, 'has_lead') ~= '1' then
    redis.call('ZADD', KEYS[7], 'NX', now + 1000 * tonumber(ARGV[7]), lead_id)
  end
else
  cause = 'decay'
end

local names, enter, exit = stages_of(ARGV[10])

local state = known_state or redis.call('HMGET', lead, unpack(STATE_FIELDS))
local static = (tonumber(state[1]) or 0) + (tonumber(state[2]) or 0)
local engagement = (tonumber(state[11]) or 0) * decay(tonumber(state[12]) or now, now)
local score = static + engagement
local score_text = num(score)
-- What the rest changes on the lead, written by one HSET at the end (with
-- a lead event's own fields).
local writes = lead_writes or {}
local function write(name, value) writes[#writes + 1] = name; writes[#writes + 1] = value end
write('score', score_text); write('scored_at', ARGV[4])
local status = state[5]
if not status then
  status = 'scored'
  write('status', status)
end

local current = 1
for i, name in ipairs(names) do
  if name == state[9] then current = i end
end
local stage = current
while stage < #names and score >= enter[stage + 1] do stage = stage + 1 end
if stage == current then
  while stage > 1 and score < exit[stage] do stage = stage - 1 end
end
local previous = ''
if stage ~= current or not state[9] then
  write('stage', names[stage]); write('stage_at', ARGV[4])
end
if stage ~= current then
  previous = names[current]
  redis.call('HINCRBY', KEYS[5], stage > current and 'stage_up' or 'stage_down', '1')
  -- (The JSON written out: the same as cjson.encode of the record, cheaper.)
  history('{"event_id":' .. cjson.encode(ARGV[1]) .. ',"at":' .. ARGV[4] .. ',"cause":"' ..
          cause .. '","changes":{"stage":[' .. cjson.encode(names[current]) .. ',' ..
          cjson.encode(names[stage]) .. ']}}')
end
-- The score distribution, as last scored: the lead's bucket is kept on it
-- so that a new score moves it out of the old one. Activities waiting for a
-- lead that has not come are not a lead yet.
if state[3] == '1' then
  local bucket = score_bucket(score)
  local old_bucket = state[13] or nil
  if bucket ~= old_bucket then
    move_count(KEYS[14], old_bucket, bucket)
    write('score_bucket', bucket)
  end
end
if kind ~= 'restage' then redis.call('HINCRBY', KEYS[5], 'scored', '1') end

-- When the decaying score will cross the next threshold: positive
-- engagement falls toward the static part, negative engagement rises to it.
local has_lead = state[3] == '1'
local due = nil
if has_lead and half_life_ms > 0 then
  if engagement > 0 and stage > 1 then
    local gap = exit[stage] - static
    if gap > 0 and gap < engagement then due = now + half_life_ms * log2(engagement / gap) end
  elseif engagement < 0 and stage < #names then
    local gap = enter[stage + 1] - static
    if gap < 0 and gap > engagement then due = now + half_life_ms * log2(engagement / gap) end
  end
end
-- The lead keeps the time too (restage_at), so that a lead not in
-- <p>:stage_due is not looked for there.
if due then
  local at = string.format('%d', math.floor(due) + 1)
  redis.call('ZADD', KEYS[8], at, lead_id)
  write('restage_at', at)
elseif state[14] and state[14] ~= '' then
  redis.call('ZREM', KEYS[8], lead_id)
  write('restage_at', '')
end

-- Routing's part: a lead it holds (assigned) or is done with (closed) is not
-- sent again; any other lead goes when it first reaches a stage routing takes,
-- when it moves between stages at or above it (or out of a queue), and when
-- its score changes while it waits (so the queue re-orders it).
local route_stage = tonumber(ARGV[9]) + 1
local to_routing = false
if has_lead and status ~= 'assigned' and status ~= 'closed' then
  if stage >= route_stage and state[4] ~= '1' then
    write('qualified', '1'); write('qualified_at', ARGV[4])
    redis.call('HINCRBY', KEYS[5], 'qualified', '1')
    to_routing = true
  end
  if stage >= route_stage and current < route_stage then
    write('ready_at', ARGV[4])
  end
  if stage ~= current and (stage >= route_stage or status == 'queued') then to_routing = true end
  if status == 'queued' and kind ~= 'restage' and score_text ~= state[10] then to_routing = true end
end
redis.call('HSET', lead, unpack(writes))
if to_routing then
  redis.call('ZADD', KEYS[4], ARGV[6], lead_id)
end
return {1, score_text, names[stage], previous, to_routing and 1 or 0, state[6] or '',
        state[7] or ARGV[5], state[1] or '0', num(engagement), state[8] or '',
        state[2] or '0'}
