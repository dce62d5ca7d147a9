-- choose: which eligible rep of a queue gets a lead, by the queue's
-- strategy, and the record of why. Part of routing.lua.

local QUEUE_FIELDS = {'strategy', 'sla_s', 'sla_bh', 'max_attempts', 'escalate_to',
                      'overflow_after_s', 'overflow_to', 'owner_first', 'owner_fallback',
                      'catch_up', 'webhook'}

-- A queue's settings (written from the config by the queue_sync operation).
local function queue_conf(q)
  local h = redis.call('HMGET', key('queue', q), unpack(QUEUE_FIELDS))
  return {name = q, strategy = h[1] or 'round_robin', sla_s = tonumber(h[2]) or 0,
          sla_bh = h[3] == '1', max_attempts = tonumber(h[4]) or 3, escalate_to = h[5] or '',
          overflow_after_s = tonumber(h[6]) or 0, overflow_to = h[7] or '',
          owner_first = h[8] == '1', owner_fallback = h[9] or 'queue', catch_up = h[10] == '1',
          webhook = h[11] or ''}
end

-- How many candidates an audit record lists one by one (the rest are counted).
local AUDIT_CANDIDATES = 50

-- Walks the reps of a queue in the order of its INDEX (index.lua: round
-- robin, load or pass) and collects the eligible ones for the lead CTX (of
-- TEAM only, when given). With FIRST it stops at the first eligible rep:
-- choosing reads only the reps it passes over, not the whole queue. Adds to
-- CANDIDATES (the audit's list, up to AUDIT_CANDIDATES) and EXCLUDED
-- (counts by reason).
-- It reads a first slice of 8 (the next rep is usually eligible: a queue of
-- 10,000 reps costs what one of 10 does), then slices of 64.
local SCAN_SLICE = 64
local function scan(index, ctx, team, first, candidates, excluded)
  local eligible, start, size = {}, 0, first and 8 or SCAN_SLICE
  while true do
    local slice = redis.call('ZRANGE', index, start, start + size - 1)
    for i, rep_id in ipairs(slice) do
      local rep = rep_state(rep_id)
      local why = rep_excluded(rep, ctx)
      if not why and team and rep.team ~= team then why = 'not_in_team ' .. team end
      if #candidates < AUDIT_CANDIDATES then
        candidates[#candidates + 1] = {rep = rep_id, excluded = why or false}
      end
      if why then
        local class = string.match(why, '^%S+')
        excluded[class] = (excluded[class] or 0) + 1
      else
        rep.rank = start + i
        eligible[#eligible + 1] = rep
        if first then return eligible end
      end
    end
    if #slice < size then return eligible end
    start, size = start + size, SCAN_SLICE
  end
end

-- Chooses a rep of queue CONF for the lead CTX. Returns the rep (nil when
-- none is eligible), why it was chosen, the candidates with the reason each
-- was excluded, and the exclusion counts by reason.
local function choose(conf, ctx)
  local q = conf.name
  local candidates, excluded, note, team = {}, {}, '', nil
  -- A lead of a known account goes to its owner when the owner can take it.
  if conf.owner_first and ctx.owner and ctx.owner ~= '' then
    local owner = rep_state(ctx.owner)
    local why = rep_excluded(owner, ctx)
    candidates[1] = {rep = ctx.owner, excluded = why or false, owner = true}
    if not why then return owner, 'account owner', candidates, excluded end
    note = 'account owner ' .. ctx.owner .. ' ' .. why .. '; '
    if conf.owner_fallback == 'team' and owner and owner.team ~= '' then team = owner.team end
  end
  -- Every strategy takes the first eligible rep of its index, but round
  -- robin with catch_up, which compares the eligible reps' counts.
  local index = index_key(conf)
  local first = not (conf.strategy == 'round_robin' and conf.catch_up)
  local eligible = {}
  if team then
    eligible = scan(index, ctx, team, first, candidates, {})
    if #eligible > 0 then note = note .. "owner's team " .. team .. ': ' end
  end
  if #eligible == 0 then
    -- Nobody of the owner's team: the whole queue, listed once in the audit.
    if team then candidates = {candidates[1]} end
    eligible = scan(index, ctx, nil, first, candidates, excluded)
  end
  if #eligible == 0 then return nil, note, candidates, excluded end

  local chosen, why = eligible[1], nil
  local after = chosen.rank == 1 and '' or string.format(', after %d excluded', chosen.rank - 1)
  if conf.strategy == 'weighted' then
    -- Stride scheduling (index.lua): the lowest pass is served and moves on
    -- by its stride; over many leads each rep's share is its weight's.
    advance_pass(q, chosen, redis.call('ZSCORE', index, chosen.id))
    why = string.format('weighted round robin, weight %g', chosen.weight) .. after
  elseif conf.strategy == 'least_loaded' then
    why = string.format('least loaded: %d of %d open', chosen.open, chosen.capacity) .. after
  elseif conf.catch_up then
    -- Round robin by count: a rep back from an absence catches up.
    local counts, best = key('queue', q, 'count'), nil
    chosen = nil
    for _, rep in ipairs(eligible) do
      local n = tonumber(redis.call('HGET', counts, rep.id) or '0')
      if not chosen or n < best then chosen, best = rep, n end
    end
    why = string.format('fewest leads of the queue (%d), %d eligible', best, #eligible)
  else
    why = chosen.rank == 1 and 'next in round robin'
          or string.format('next in round robin after %d excluded', chosen.rank - 1)
  end
  return chosen, note .. why, candidates, excluded
end

-- "no eligible rep: 2 offline, 1 at_capacity" from the exclusion counts.
local function no_rep_reason(excluded)
  local parts = {}
  for class, n in pairs(excluded) do parts[#parts + 1] = n .. ' ' .. class end
  table.sort(parts)
  if #parts == 0 then return 'no eligible rep: the queue has no reps' end
  return 'no eligible rep: ' .. table.concat(parts, ', ')
end
