-- index: the orders a queue keeps its reps in, so that choosing a rep reads
-- the first few of them, never the whole queue. Part of routing.lua.
--   <p>:queue:<q>:rr    every queue, by round-robin position: the global
--                       sequence at the rep's last assignment
--   <p>:queue:<q>:load  a least_loaded queue, by load (open / capacity, in
--                       steps of 1/LOAD_STEPS), then round-robin position
--   <p>:queue:<q>:pass  a weighted queue, by pass (stride scheduling: each
--                       assignment moves the rep STRIDE / weight on; ties by id)
-- A rep's place is written where it changes: assign and unassign (open),
-- capacity, joining and leaving a queue; queue_sync builds a queue's index
-- from its round-robin members. The rep's hash lists the queues that keep
-- its load (lq, comma-separated), so that an assignment in a round-robin
-- queue costs nothing more.

-- (SEQ_SPAN, seq_of and load_score: common/scripts/parts/load.lua, included
-- by routing.lua.)

-- Writes REP_ID's load (OPEN of CAPACITY) in the load index of each queue
-- of LQ (the rep's lq). SEQ: its new round-robin position, or nil to keep
-- the one it has there.
local function index_load(rep_id, lq, open, capacity, seq)
  for q in string.gmatch(lq, '[^,]+') do
    local k = key('queue', q, 'load')
    if seq then
      redis.call('ZADD', k, 'XX', load_score(open, capacity, seq), rep_id)
    else
      local old = redis.call('ZSCORE', k, rep_id)
      if old then redis.call('ZADD', k, load_score(open, capacity, seq_of(old)), rep_id) end
    end
  end
end

-- REP_ID's load again, from its hash (after its open count or capacity
-- changed without an assignment).
local function reindex_load(rep_id)
  local r = redis.call('HMGET', key('rep', rep_id), 'open', 'capacity', 'lq')
  index_load(rep_id, r[3] or '', tonumber(r[1]) or 0, tonumber(r[2]) or 0, nil)
end

-- Writes REP_ID's lq: the queues it works that keep its load.
local function note_load_queues(rep_id)
  local lq = {}
  for _, q in ipairs(redis.call('SMEMBERS', key('rep', rep_id, 'queues'))) do
    if redis.call('ZSCORE', key('queue', q, 'load'), rep_id) then lq[#lq + 1] = q end
  end
  table.sort(lq)
  redis.call('HSET', key('rep', rep_id), 'lq', table.concat(lq, ','))
end

-- Stride scheduling: a rep of weight W moves STRIDE / W on per lead, and
-- the lowest pass is next. STRIDE is divisible by 1..16, so whole weights
-- keep whole passes and equal shares tie exactly.
local STRIDE = 720720

-- Weighted queue Q gave a lead to REP, whose pass was PASS: its next pass.
-- From the queue's virtual time (the pass last served) when it was behind
-- it: a rep back from an absence takes its share from now on, not the
-- turns it missed.
local function advance_pass(q, rep, pass)
  local qk = key('queue', q)
  local from = math.max(tonumber(pass) or 0, tonumber(redis.call('HGET', qk, 'vt') or '') or 0)
  redis.call('HSET', qk, 'vt', string.format('%.17g', from))
  local weight = rep.weight > 0 and rep.weight or 1
  redis.call('ZADD', key('queue', q, 'pass'), 'XX', string.format('%.17g', from + STRIDE / weight),
             rep.id)
end

-- Puts REP_ID in the index of queue Q's STRATEGY (joining the queue, or
-- the index being built): by its load, or at the queue's virtual time.
local function index_join(q, strategy, rep_id)
  if strategy == 'least_loaded' then
    local r = redis.call('HMGET', key('rep', rep_id), 'open', 'capacity')
    local seq = seq_of(redis.call('ZSCORE', key('queue', q, 'rr'), rep_id) or '0')
    redis.call('ZADD', key('queue', q, 'load'), 'NX',
               load_score(tonumber(r[1]) or 0, tonumber(r[2]) or 0, seq), rep_id)
  elseif strategy == 'weighted' then
    local vt = redis.call('HGET', key('queue', q), 'vt') or '0'
    redis.call('ZADD', key('queue', q, 'pass'), 'NX', vt, rep_id)
  end
end

-- Takes REP_ID out of queue Q's orders.
local function index_leave(q, rep_id)
  redis.call('ZREM', key('queue', q, 'rr'), rep_id)
  redis.call('ZREM', key('queue', q, 'load'), rep_id)
  redis.call('ZREM', key('queue', q, 'pass'), rep_id)
end

-- The index choose walks for queue CONF.
local function index_key(conf)
  if conf.strategy == 'least_loaded' then return key('queue', conf.name, 'load') end
  if conf.strategy == 'weighted' then return key('queue', conf.name, 'pass') end
  return key('queue', conf.name, 'rr')
end
