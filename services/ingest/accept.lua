-- accept: makes one validated event durable and hands it to scoring, or
-- recognises it as a re-sent duplicate. One script, so that "journaled" and
-- "in flight to scoring" can never be half true.
-- KEYS[1] <p>:eventid:<event_id>   dedup marker
-- KEYS[2] <p>:journal              stream
-- KEYS[3] <p>:inflight:scoring     zset by redelivery deadline
-- KEYS[4] <p>:inflight:scoring:msg hash event id -> envelope
-- KEYS[5] <p>:stats                hash of counters
-- ARGV[1] event id  ARGV[2] lead id  ARGV[3] type ("lead"|"activity")
-- ARGV[4] envelope bytes  ARGV[5] redelivery deadline (ms)
-- ARGV[6] dedup window (s)  ARGV[7] journal max length
-- ARGV[8] in-flight limit: with this many events waiting for scoring, refuse
-- Returns {1, stream id} when accepted, {0, lead id} for a duplicate,
-- {-1, events waiting} when scoring is too far behind (backpressure).
--
-- The backpressure check comes first: a refused event must leave no dedup
-- marker behind, or its retry would be taken for a duplicate and lost.
local waiting = redis.call('ZCARD', KEYS[3])
if waiting >= tonumber(ARGV[8]) then
  return {-1, waiting}
end
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', tonumber(ARGV[6])) == false then
  redis.call('HINCRBY', KEYS[5], 'duplicates', 1)
  return {0, redis.call('GET', KEYS[1]) or ARGV[2]}
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*',
                      'type', ARGV[3], 'event_id', ARGV[1], 'lead_id', ARGV[2],
                      'envelope', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
redis.call('HINCRBY', KEYS[5], ARGV[3] == 'lead' and 'ingested_leads' or 'ingested_activities', 1)
return {1, id}
