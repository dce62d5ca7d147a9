-- eligible: who can take a lead now, and why not. Part of routing.lua.
--
-- A rep's hash holds what routing.c computed from the config in the rep's
-- time zone (Lua has no time zones): avail, the UTC windows in which the rep
-- works and is not out of office ("s-e,s-e,..." or "*" for any time); ooo,
-- the out-of-office periods; days and weeks, the UTC instants at which its
-- local days and weeks start (caps are counted per local day and week).

-- True when T is inside one of WINDOWS ("*" and nil: always).
local function in_windows(windows, t)
  if windows == nil or windows == '*' then return true end
  for s, e in string.gmatch(windows, '(%d+)-(%d+)') do
    if t < tonumber(s) then return false end
    if t < tonumber(e) then return true end
  end
  return false
end

-- Period lists ("t0,t1,...") parsed once and kept across calls (a rep's
-- changes once a day at most): {numbers, texts}. Emptied when it holds
-- PERIODS_KEPT lists.
local PERIODS_KEPT = 4096
local periods, periods_n = {}, 0
local function parsed_periods(list)
  local p = periods[list]
  if p then return p end
  p = {{}, {}}
  for v in string.gmatch(list, '%d+') do
    p[1][#p[1] + 1], p[2][#p[2] + 1] = tonumber(v), v
  end
  if periods_n >= PERIODS_KEPT then periods, periods_n = {}, 0 end
  periods[list], periods_n = p, periods_n + 1
  return p
end

-- The last start in LIST ("t0,t1,...") at or before T, and its text; nil
-- when none.
local function period_start(list, t)
  local p = parsed_periods(list or '')
  local starts, found = p[1], nil
  for i = 1, #starts do
    if starts[i] > t then break end
    found = i
  end
  if not found then return nil end
  return starts[found], p[2][found]
end

local REP_FIELDS = {'status', 'capacity', 'open', 'daily_cap', 'weekly_cap', 'avail', 'ooo',
                    'days', 'weeks', 'skills', 'retired', 'weight', 'team', 'lq'}

-- A rep's state, or nil for a rep Redis does not know.
local function rep_state(rep_id)
  local r = redis.call('HMGET', key('rep', rep_id), unpack(REP_FIELDS))
  if not r[1] then return nil end
  -- (A missing field is false in Redis' Lua, not nil.)
  return {id = rep_id, status = r[1], capacity = tonumber(r[2]) or 0, open = tonumber(r[3]) or 0,
          daily_cap = tonumber(r[4]) or 0, weekly_cap = tonumber(r[5]) or 0,
          avail = r[6] or nil, ooo = r[7] or nil, days = r[8] or nil, weeks = r[9] or nil,
          skills = r[10] or '', retired = r[11] == '1', weight = tonumber(r[12]) or 1,
          team = r[13] or '', lq = r[14] or ''}
end

-- The key of REP's counter for the local PERIOD ('day' or 'week') holding
-- now, and the period's start.
local function counter_key(rep, period)
  local start, text = period_start(period == 'day' and rep.days or rep.weeks, now)
  if not start then return nil, nil end
  return key('rep', rep.id, period, text), start
end

local function counter(rep, period)
  local k = counter_key(rep, period)
  return k and (tonumber(redis.call('GET', k)) or 0) or 0
end

-- Counts one assignment against REP's cap for PERIOD; the counter outlives
-- its period by KEEP_DAYS, then expires (set when it starts).
local function bump_counter(rep, period, keep_days)
  local k, start = counter_key(rep, period)
  if k and redis.call('INCR', k) == 1 then
    -- Relative to the script's now, not Redis' clock: a simulation replays
    -- past days (leadopsctl simulate) and its counters must not vanish.
    local keep = start + keep_days * 86400000 - now
    redis.call('PEXPIRE', k, string.format('%d', math.max(keep, 86400000)))
  end
end

local function bump_counters(rep)
  bump_counter(rep, 'day', 3)
  bump_counter(rep, 'week', 15)
end

-- Why REP cannot take any lead now, or nil when it can.
local function rep_unavailable(rep)
  if not rep then return 'unknown_rep' end
  if rep.retired then return 'retired' end
  if rep.status == 'offline' then return 'offline' end
  if rep.status == 'away' then return 'away' end
  if not in_windows(rep.avail, now) then
    if rep.ooo and rep.ooo ~= '' and rep.ooo ~= '*' and in_windows(rep.ooo, now) then
      return 'out_of_office'
    end
    return 'out_of_hours'
  end
  if rep.open >= rep.capacity then return 'at_capacity' end
  if rep.daily_cap > 0 and counter(rep, 'day') >= rep.daily_cap then return 'daily_cap' end
  if rep.weekly_cap > 0 and counter(rep, 'week') >= rep.weekly_cap then return 'weekly_cap' end
  return nil
end

-- What a lead asks of a rep: skills, the reps already tried, its account
-- owner. KNOWN, when the caller read the lead already (route): {skills,
-- owner, attempts}; a lead never assigned has tried no rep.
local function lead_ctx(lead_id, known)
  local h = known and {known.skills, known.owner}
            or redis.call('HMGET', key('lead', lead_id), 'skills', 'owner')
  local ctx = {id = lead_id, skills = {}, tried = {}, owner = h[2] or nil}
  for s in string.gmatch(h[1] or '', '[^,]+') do ctx.skills[#ctx.skills + 1] = s end
  if not known or (tonumber(known.attempts) or 0) > 0 then
    for _, r in ipairs(redis.call('SMEMBERS', key('lead', lead_id, 'tried'))) do
      ctx.tried[r] = true
    end
  end
  return ctx
end

-- Why REP cannot take the lead CTX now, or nil when it can.
local function rep_excluded(rep, ctx)
  local why = rep_unavailable(rep)
  if why then return why end
  for _, skill in ipairs(ctx.skills) do
    if not string.find(rep.skills, ',' .. skill .. ',', 1, true) then
      return 'missing_skill ' .. skill
    end
  end
  if ctx.tried[rep.id] then return 'already_tried' end
  return nil
end
