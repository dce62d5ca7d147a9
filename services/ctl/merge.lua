-- merge: merges lead OTHER into lead KEEP by hand (`leadopsctl lead merge`),
-- atomically, so that no reader ever sees half a merge (activities counted
-- twice, a rep holding a lead that no longer exists, an alias to nowhere).
--
-- The lead fields were merged by leadopsctl (common/lead.c lead_merge, the
-- rule scoring uses: newer non-empty value wins) from both leads as they were
-- at revisions ARGV[4] and ARGV[5]. Like scoring's apply.lua, this script
-- refuses when either revision moved meanwhile: the merge is then computed
-- again from fresh state. Counters (engagement, activities) are not part of
-- the revision (activities do not bump it), so they are read and moved here,
-- inside the script, where no activity can slip between read and write.
--
-- Keys are built from the prefix (ARGV[1]); LeadOps runs on one Redis, not a
-- cluster. Layout: common/keys.h.
--
-- ARGV[1] prefix  ARGV[2] KEEP id  ARGV[3] OTHER id
-- ARGV[4] KEEP's rev as read  ARGV[5] OTHER's rev as read  ARGV[6] now (ms)
-- ARGV[7] merged Lead protobuf  ARGV[8] fit  ARGV[9] grade  ARGV[10] reasons (JSON)
-- ARGV[11] changes (JSON object, '{}' for none)
-- ARGV[12] OTHER's email or ''  ARGV[13] OTHER's 'system:source id' or ''
-- ARGV[14] the score that takes a lead to routing (the route stage's entry)
-- ARGV[15] '1' for a dry run (check and plan, write nothing)
-- ARGV[16] engagement half-life (s)  ARGV[17] the route stage's name
-- Returns {0, reason} when refused, else
-- {1, routing outcome (text), engagement moved, activities moved, new score,
--  qualified (0|1), identity keys repointed, old score}.

local prefix, keep, other, now = ARGV[1], ARGV[2], ARGV[3], ARGV[6]
local dry = ARGV[15] == '1'
local function key(...) return prefix .. ':' .. table.concat({...}, ':') end
--#include ../../common/scripts/parts/load.lua
local keep_key, other_key = key('lead', keep), key('lead', other)

local function hash(k)
  local flat, out = redis.call('HGETALL', k), {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end

-- ---- checks: refuse rather than merge from a stale read --------------------
local alias = redis.call('GET', key('alias', other))
if alias then
  return {0, 'lead ' .. other .. ' was merged into ' .. alias .. ' meanwhile'}
end
local k, o = hash(keep_key), hash(other_key)
if k.has_lead ~= '1' then return {0, 'lead ' .. keep .. ' is gone or has no lead event'} end
if o.has_lead ~= '1' then return {0, 'lead ' .. other .. ' is gone or has no lead event'} end
for _, side in ipairs({{keep, k, ARGV[4]}, {other, o, ARGV[5]}}) do
  local id, state, read = side[1], side[2], side[3]
  if (state.rev or '0') ~= read then
    return {0, 'lead ' .. id .. ' changed while the merge was computed (revision ' .. read ..
               ', now ' .. (state.rev or '0') .. ')'}
  end
end

-- ---- scores: fit is recomputed from the merged fields, engagement adds up ----
-- (each side decayed to now, as apply.lua keeps it: a value at eng_at).
local half_life_ms = 1000 * (tonumber(ARGV[16]) or 0)
local function engagement_now(side)
  local at, t = tonumber(side.eng_at) or tonumber(now), tonumber(now)
  local factor = (half_life_ms > 0 and t > at) and 2 ^ (-(t - at) / half_life_ms) or 1
  return (tonumber(side.engagement) or 0) * factor
end
local other_engagement = engagement_now(o)
local engagement = engagement_now(k) + other_engagement
local score = (tonumber(ARGV[8]) or 0) + (tonumber(k.model_points) or 0) + engagement
local activities_moved = tonumber(o.activities) or 0
local was_qualified = k.qualified == '1' or o.qualified == '1'
local qualified = was_qualified or score >= tonumber(ARGV[14])

-- ---- routing: plan first (a dry run stops after it), then act --------------
-- A lead already assigned stays with its rep; a rep working OTHER keeps
-- working the person, now as KEEP; nobody is ever holding a deleted lead.
local routing_in = key('inflight', 'routing')
local k_status, o_status = k.status or 'scored', o.status or 'scored'
local k_inflight = redis.call('ZSCORE', routing_in, keep)
local o_inflight = redis.call('ZSCORE', routing_in, other)
-- "Routed": routing has it or is about to (in flight from scoring).
local k_routed = k_status == 'queued' or k_status == 'assigned' or k_status == 'closed' or
                 k_inflight ~= false
local k_assigned = k_status == 'assigned' and k.rep ~= nil
-- KEEP's routing state in words, for the outcome line.
local k_where = k_status ..
                (k_assigned and (' with rep ' .. k.rep) or '') ..
                (k_status == 'queued' and (' in queue ' .. (k.queue or '')) or '') ..
                (k_status == 'scored' and k_inflight and ' (on its way to routing)' or '')
local o_assigned = o_status == 'assigned' and o.rep ~= nil
local action, outcome
if o_assigned and k_assigned then
  -- Two reps hold one person: KEEP's rep keeps it; OTHER's rep is released
  -- as by a close (one less open lead). Nothing is pulled for that rep here:
  -- routing gives it the next waiting lead on its next pull, close or rep change.
  action = 'release'
  outcome = 'both were assigned: ' .. keep .. ' stays with rep ' .. k.rep .. '; rep ' ..
            o.rep .. ' released ' .. other .. ' (open - 1)'
elseif o_assigned then
  -- The rep keeps working the person under KEEP's id: its open count and
  -- capacity are unchanged (one lead out, one in).
  action = 'take_assignment'
  outcome = keep .. ' takes ' .. other .. "'s assignment: rep " .. o.rep .. ', queue ' ..
            (o.queue or '') .. ' (rep open count unchanged)'
  if k_status == 'queued' then
    outcome = outcome .. '; ' .. keep .. ' leaves queue ' .. (k.queue or '') .. "'s waiting list"
  elseif k_status == 'closed' then
    outcome = outcome .. '; ' .. keep .. ' is open again (was closed: ' .. (k.outcome or '') .. ')'
  end
elseif o_status == 'queued' and o.queue and not k_routed then
  action = 'take_queue_place'
  outcome = keep .. ' takes ' .. other .. "'s place in queue " .. (o.queue or '')
elseif o_status == 'queued' and o.queue then
  action = 'drop_queued'
  outcome = other .. ' leaves queue ' .. (o.queue or '') .. "'s waiting list; " .. keep ..
            ' stays ' .. k_where
elseif o_inflight and not k_routed then
  action = 'take_inflight'
  outcome = keep .. ' goes to routing in place of ' .. other
elseif o_inflight then
  action = 'drop_inflight'
  outcome = other .. ' no longer goes to routing; ' .. keep .. ' stays ' .. k_where
elseif qualified and not was_qualified and not k_routed then
  -- The summed score reaches the threshold: KEEP qualifies now, as apply.lua
  -- would have qualified it; scoring's redelivery hands it to routing.
  action = 'qualify'
  outcome = keep .. ' qualifies now (score ' .. score .. ') and goes to routing'
else
  action = 'none'
  outcome = 'routing unchanged: ' .. keep .. ' stays ' .. k_where ..
            (o_status == 'closed' and ('; ' .. other .. ' was closed') or '')
end

-- Identity keys of OTHER now name KEEP, unless another lead owns them (then
-- OTHER only shared them and the owner stays).
local identities = {}
if ARGV[12] ~= '' then identities[#identities + 1] = key('identity', 'email', ARGV[12]) end
if ARGV[13] ~= '' then identities[#identities + 1] = key('identity', 'source', ARGV[13]) end
local repoint = {}
for _, ik in ipairs(identities) do
  local owner = redis.call('GET', ik)
  if not owner or owner == other then repoint[#repoint + 1] = ik end
end

local reply = {1, outcome, string.format('%.17g', other_engagement), activities_moved,
               tostring(score), qualified and 1 or 0, #repoint,
               k.score or '0'}
if dry then return reply end

-- ---- the lead: merged fields, summed counters -------------------------------
local newest = math.max(tonumber(k.lead_time) or 0, tonumber(o.lead_time) or 0)
redis.call('HSET', keep_key, 'lead', ARGV[7], 'fit', ARGV[8], 'grade', ARGV[9],
           'reasons', ARGV[10], 'lead_time', string.format('%d', newest),
           'score', string.format('%.17g', score), 'scored_at', now, 'updated_at', now,
           'engagement', string.format('%.17g', engagement), 'eng_at', now, 'restage_at', now)
redis.call('HINCRBY', keep_key, 'rev', 1)
-- OTHER's activities explain KEEP's engagement now; scoring's restage sweep
-- sets KEEP's stage and its next decay deadline from the merged score.
for _, entry in ipairs(redis.call('LRANGE', other_key .. ':acts', 0, 99)) do
  redis.call('RPUSH', keep_key .. ':acts', entry)
end
redis.call('LTRIM', keep_key .. ':acts', 0, 99)
redis.call('DEL', other_key .. ':acts')
redis.call('ZREM', key('stage_due'), other)
redis.call('ZADD', key('stage_due'), now, keep)
if activities_moved > 0 then redis.call('HINCRBY', keep_key, 'activities', activities_moved) end
for field, value in pairs(o) do
  if string.sub(field, 1, 4) == 'act:' then
    redis.call('HINCRBY', keep_key, field, tonumber(value) or 0)
  end
end
if (tonumber(o.last_activity_at) or 0) > (tonumber(k.last_activity_at) or 0) then
  redis.call('HSET', keep_key, 'last_activity_at', o.last_activity_at)
end
if was_qualified and k.qualified ~= '1' then
  -- Qualified as OTHER: KEEP is, since the same moment.
  redis.call('HSET', keep_key, 'qualified', '1', 'stage', ARGV[17],
             'qualified_at', o.qualified_at or now)
end

-- ---- routing ----------------------------------------------------------------
if action == 'release' then
  redis.call('SREM', key('rep', o.rep, 'leads'), other)
  local open = redis.call('HINCRBY', key('rep', o.rep), 'open', -1)
  -- Its place by load in the least_loaded queues that keep it (its lq), as
  -- routing.lua's reindex_load writes it.
  local r = redis.call('HMGET', key('rep', o.rep), 'capacity', 'lq')
  for q in string.gmatch(r[2] or '', '[^,]+') do
    local old = redis.call('ZSCORE', key('queue', q, 'load'), o.rep)
    if old then
      redis.call('ZADD', key('queue', q, 'load'), load_score(open, tonumber(r[1]) or 0, seq_of(old)),
                 o.rep)
    end
  end
elseif action == 'take_assignment' then
  redis.call('SREM', key('rep', o.rep, 'leads'), other)
  redis.call('SADD', key('rep', o.rep, 'leads'), keep)
  if k_status == 'queued' and k.queue then
    redis.call('ZREM', key('queue', k.queue, 'waiting'), keep)
  end
  if k_inflight then redis.call('ZREM', routing_in, keep) end
  redis.call('HDEL', keep_key, 'outcome', 'closed_at')
  redis.call('HSET', keep_key, 'status', 'assigned', 'rep', o.rep, 'queue', o.queue or '',
             'assigned_at', o.assigned_at or now, 'rule', o.rule or '')
elseif action == 'take_queue_place' then
  -- Same priority (OTHER's score and arrival sequence): no jumping the line.
  local waiting = key('queue', o.queue, 'waiting')
  local priority = redis.call('ZSCORE', waiting, other)
  redis.call('ZREM', waiting, other)
  if priority then redis.call('ZADD', waiting, priority, keep) end
  redis.call('HSET', keep_key, 'status', 'queued', 'queue', o.queue,
             'queued_at', o.queued_at or now, 'rule', o.rule or '')
elseif action == 'drop_queued' then
  redis.call('ZREM', key('queue', o.queue, 'waiting'), other)
elseif action == 'take_inflight' then
  redis.call('ZREM', routing_in, other)
  redis.call('ZADD', routing_in, o_inflight, keep)
elseif action == 'drop_inflight' then
  redis.call('ZREM', routing_in, other)
elseif action == 'qualify' then
  redis.call('HSET', keep_key, 'qualified', '1', 'stage', ARGV[17], 'qualified_at', now)
  redis.call('HINCRBY', key('stats'), 'qualified', 1)
  -- Due now: scoring's redelivery sends it to routing on its next tick.
  redis.call('ZADD', routing_in, now, keep)
end

-- ---- history, aliases, identity ---------------------------------------------
-- A list of JSON entries (apply.lua's layout); ARGV[11] is our own JSON object.
if redis.call('RPUSH', keep_key .. ':history', '{"event_id":' .. cjson.encode('merge:' .. other) ..
              ',"at":' .. string.format('%d', now) .. ',"changes":' .. ARGV[11] ..
              ',"merged_from":' .. cjson.encode(other) .. '}') > 100 then
  redis.call('LTRIM', keep_key .. ':history', -100, -1)
end
-- Events still in flight for OTHER, and OTHER's id sent again, land on KEEP
-- (fetch.lua and accept.lua follow one alias hop). Aliases that named OTHER
-- are not found without a scan: they resolve to OTHER, which is gone; see
-- the README ("Identity, duplicates and merges").
redis.call('SET', key('alias', other), keep)
for _, ik in ipairs(repoint) do redis.call('SET', ik, keep) end
redis.call('SREM', key('identity', 'leads'), other)

-- ---- OTHER is gone ------------------------------------------------------------
-- Its history stays readable under its id (<p>:lead:OTHER:history) and its
-- changes up to now are summed up in KEEP's merge entry.
redis.call('DEL', other_key)
redis.call('ZREM', key('leads'), other)
redis.call('HINCRBY', key('stats'), 'merged_by_hand', 1)
return reply
