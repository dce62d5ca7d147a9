-- stl: the speed-to-lead histograms, shared by scripts that record one
-- (apply.lua, routing.lua: "--#include" this file).

-- Buckets in ms; the same list as stl_buckets_ms in
-- services/reporting/stl.c (test_routing_script checks that they agree).
local STL_BUCKETS = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000,
                     300000, 1800000, 3600000, 86400000}

-- Each bucket's field, made once.
local STL_FIELDS = {}
for i = 1, #STL_BUCKETS do STL_FIELDS[i] = 'le_' .. STL_BUCKETS[i] end

-- Adds MS to the speed-to-lead histogram hash KEY (layout: stl.h): <p>:stl
-- (intake to assignment), <p>:stl_accept (assignment to accept) or
-- <p>:stl_touch (intake to first call or email).
local function record_speed(key, ms)
  local field = 'le_+Inf'
  for i = 1, #STL_BUCKETS do
    if ms <= STL_BUCKETS[i] then field = STL_FIELDS[i] break end
  end
  redis.call('HINCRBY', key, field, '1')
  redis.call('HINCRBY', key, 'count', '1')
  redis.call('HINCRBY', key, 'sum_ms', string.format('%d', math.floor(ms + 0.5))) -- whole ms
end
