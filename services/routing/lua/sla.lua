-- sla: assignments not accepted in time (or rejected) go to another rep,
-- and escalate after the queue's number of tries; leads waiting too long
-- overflow to the next queue. Part of routing.lua.

-- Takes LEAD_ID back from REP_ID (an SLA breach, or the rep rejected it:
-- KIND 'sla' or 'rejected', TEXT the reason) and places it again: never
-- with the same rep; after the queue's max_attempts, escalated to the
-- queue's escalate_to (or again in the same queue). Returns the
-- assignments it made (zero or one).
local function breach(lead_id, rep_id, q, kind, text)
  local conf = queue_conf(q)
  local lead = key('lead', lead_id)
  unassign(lead_id, rep_id)
  redis.call('SADD', key('lead', lead_id, 'tried'), rep_id)
  redis.call('HINCRBY', key('stats'), kind == 'sla' and 'sla_breaches' or 'rejected_by_rep', '1')
  notify(conf, kind == 'sla' and 'sla_breach' or 'rejected', lead_id, rep_id, text)
  local state = redis.call('HMGET', lead, 'attempts', 'score')
  local attempts = tonumber(state[1]) or 0
  local record = {op = kind, from_rep = rep_id, reason = text, attempts = attempts}
  local target = conf
  if attempts >= conf.max_attempts then
    redis.call('HINCRBY', key('stats'), 'escalations', '1')
    redis.call('HSET', lead, 'escalated', '1')
    if conf.escalate_to ~= '' and conf.escalate_to ~= q then
      target = queue_conf(conf.escalate_to)
      redis.call('HSET', lead, 'attempts', 0)
    end
    record.escalated_to = target.name
    notify(conf, 'escalation', lead_id, rep_id,
           string.format('%d tries in %s: escalated to %s', attempts, q, target.name))
  end
  local a = place(lead_id, target, state[2], record)
  return a and {a} or {}
end

-- Leads whose SLA ran out by now, up to MAX. Returns {breaches, assignments...}.
local function sla_sweep(max)
  local out, breaches = {0}, 0
  for _, lead_id in ipairs(redis.call('ZRANGEBYSCORE', key('sla'), '-inf', now, 'LIMIT', 0, max)) do
    redis.call('ZREM', key('sla'), lead_id)
    local h = redis.call('HMGET', key('lead', lead_id), 'status', 'rep', 'queue', 'accepted')
    if h[1] == 'assigned' and h[4] ~= '1' and h[2] then
      breaches = breaches + 1
      local conf = queue_conf(h[3])
      for _, a in ipairs(breach(lead_id, h[2], h[3], 'sla',
                                string.format('not accepted within %d s', conf.sla_s))) do
        out[#out + 1] = a
      end
    end
  end
  out[1] = breaches
  return out
end

-- Waiting leads whose queue's overflow_after_s ran out by now, up to MAX,
-- go to the queue's overflow_to. Returns {moved, assignments...}.
local function overflow_sweep(max)
  local out, moved = {0}, 0
  for _, lead_id in ipairs(redis.call('ZRANGEBYSCORE', key('overflow'), '-inf', now, 'LIMIT', 0,
                                      max)) do
    redis.call('ZREM', key('overflow'), lead_id)
    local lead = key('lead', lead_id)
    local h = redis.call('HMGET', lead, 'status', 'queue', 'score', 'waiting_reason')
    local conf = h[2] and queue_conf(h[2])
    if h[1] == 'queued' and conf and conf.overflow_to ~= '' and
        redis.call('ZREM', key('queue', h[2], 'waiting'), lead_id) == 1 then
      moved = moved + 1
      redis.call('HINCRBY', key('stats'), 'overflowed', '1')
      redis.call('HSET', lead, 'attempts', 0, 'overflowed_from', h[2])
      local a = place(lead_id, queue_conf(conf.overflow_to), h[3],
                      {op = 'overflow', from_queue = h[2],
                       reason = string.format('waited %d s in %s: %s', conf.overflow_after_s, h[2],
                                              h[4] or '')})
      if a then out[#out + 1] = a end
    end
  end
  out[1] = moved
  return out
end
