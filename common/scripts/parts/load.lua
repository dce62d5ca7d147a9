-- load: a rep's place in a least_loaded queue's index (<p>:queue:<q>:load),
-- shared by scripts that change a rep's open count (routing.lua's
-- lua/index.lua, ctl's merge.lua: "--#include" this file).

-- A sequence number (< SEQ_SPAN) rides below a coarser key in one double
-- (53 bits): a waiting lead's priority, a rep's load.
local SEQ_SPAN = 1e10
local function seq_of(score)
  local p = tonumber(score)
  return p - math.floor(p / SEQ_SPAN) * SEQ_SPAN
end

-- Load (OPEN of CAPACITY) in steps of 1/LOAD_STEPS, then round-robin
-- position SEQ: the score of a rep in a load index.
local LOAD_STEPS, LOAD_TOP = 10000, 99999
local function load_score(open, capacity, seq)
  local steps = capacity > 0 and math.floor(open / capacity * LOAD_STEPS) or LOAD_TOP
  return math.max(0, math.min(steps, LOAD_TOP)) * SEQ_SPAN + seq
end
