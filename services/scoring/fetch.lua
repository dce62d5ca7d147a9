-- fetch: what scoring needs to know before it merges an event into a lead:
-- the lead the event's lead id stands for (ingest recorded an alias when the
-- lead arrived with a known email or source id), the lead as stored and its
-- revision (apply.lua refuses a merge computed from an older revision).
-- ARGV[1] key prefix  ARGV[2] lead id
-- Returns {lead id, Lead protobuf or '', revision, time of the newest merged lead event}.
local lead = redis.call('GET', ARGV[1] .. ':alias:' .. ARGV[2])
-- One more hop, for ids merged by hand after they had aliases of their own.
lead = lead and (redis.call('GET', ARGV[1] .. ':alias:' .. lead) or lead) or ARGV[2]
local state = redis.call('HMGET', ARGV[1] .. ':lead:' .. lead, 'lead', 'rev', 'lead_time')
return {lead, state[1] or '', state[2] or '0', state[3] or '0'}
