-- accept: makes one validated event durable and hands it to scoring, or
-- recognises it as a re-sent duplicate; resolves which lead it belongs to.
-- One script, so that "journaled", "in flight to scoring" and "identity
-- recorded" can never be half true.
-- KEYS[1] <p>:eventid:<event_id>   dedup marker (value: the lead id it went to)
-- KEYS[2] <p>:journal              stream
-- KEYS[3] <p>:inflight:scoring     zset by redelivery deadline
-- KEYS[4] <p>:inflight:scoring:msg hash event id -> envelope
-- KEYS[5] <p>:stats                hash of counters
-- ARGV[1] event id  ARGV[2] lead id  ARGV[3] type ("lead"|"activity")
-- ARGV[4] envelope bytes  ARGV[5] redelivery deadline (ms)
-- ARGV[6] dedup window (s)  ARGV[7] journal max length
-- ARGV[8] in-flight limit: with this many events waiting for scoring, refuse
-- ARGV[9] key prefix  ARGV[10] normalized email or ''  ARGV[11] 'system:source id' or ''
-- ARGV[12] channel (http | zmq | import)  ARGV[13] the lead's source ('' unknown)
-- ARGV[14] now (ms)
-- Returns {1, stream id, lead id, outcome} when accepted, outcome 'new' (a
-- lead not seen before), 'merged' (an existing lead, by id, email or source
-- id) or 'attached' (an activity); {0, lead id} for a duplicate; {-1, events
-- waiting} when scoring is too far behind (backpressure).
--
-- Identity: <p>:identity:email:<email> and <p>:identity:source:<system>:<id>
-- name the lead that first used them; <p>:alias:<lead id> maps a lead id
-- that arrived with a known identity to that lead. Scoring applies every
-- event of an alias to the lead it names. The first identity found wins.
--
-- The backpressure check comes first: a refused event must leave no dedup
-- marker behind, or its retry would be taken for a duplicate and lost.
local waiting = redis.call('ZCARD', KEYS[3])
if waiting >= tonumber(ARGV[8]) then
  return {-1, waiting}
end
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[6]) == false then
  redis.call('HINCRBY', KEYS[5], 'duplicates', '1')
  return {0, redis.call('GET', KEYS[1]) or ARGV[2]}
end

local prefix, lead_id = ARGV[9], ARGV[2]
local alias_key = prefix .. ':alias:' .. lead_id
local lead = redis.call('GET', alias_key)
-- A lead merged by hand into another may itself have had aliases: follow
-- one more hop (leadopsctl lead merge points the merged id, not its aliases).
lead = lead and (redis.call('GET', prefix .. ':alias:' .. lead) or lead) or lead_id
local outcome = 'attached'
if ARGV[3] == 'lead' then
  local identities = {}
  if ARGV[10] ~= '' then identities[#identities + 1] = prefix .. ':identity:email:' .. ARGV[10] end
  if ARGV[11] ~= '' then identities[#identities + 1] = prefix .. ':identity:source:' .. ARGV[11] end
  local known = nil
  for _, key in ipairs(identities) do
    known = known or redis.call('GET', key)
  end
  if known and known ~= lead then
    redis.call('SET', alias_key, known)
    lead = known
  end
  outcome = redis.call('SADD', prefix .. ':identity:leads', lead) == 1 and 'new' or 'merged'
  for _, key in ipairs(identities) do
    redis.call('SET', key, lead, 'NX')
  end
  if outcome == 'merged' then
    redis.call('HINCRBY', KEYS[5], 'merged', '1')
  end
end
if lead ~= lead_id then redis.call('SET', KEYS[1], lead, 'KEEPTTL') end

local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*',
                      'type', ARGV[3], 'event_id', ARGV[1], 'lead_id', lead,
                      'envelope', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
redis.call('HINCRBY', KEYS[5], ARGV[3] == 'lead' and 'ingested_leads' or 'ingested_activities', '1')
-- Intake rate: new leads per hour of intake by source and by channel, kept
-- 8 days (reporting sums the last 24 hours and 7 days): the expiry is set
-- when a field starts, and the hour's first field starts the hash.
if outcome == 'new' and ARGV[14] then
  local hour = prefix .. ':intake:h:' .. string.format('%d', math.floor(tonumber(ARGV[14]) / 3600000))
  local source = ARGV[13] ~= '' and ARGV[13] or 'unknown'
  local by_source = redis.call('HINCRBY', hour, 'src:' .. source, '1')
  if redis.call('HINCRBY', hour, 'chan:' .. ARGV[12], '1') == 1 or by_source == 1 then
    redis.call('PEXPIRE', hour, '691200000') -- 8 days
  end
end
return {1, id, lead, outcome}
