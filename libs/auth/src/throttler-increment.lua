-- Counts one hit of a rate-limit window and blocks the caller once the limit is passed.
-- KEYS[1]  hit counter of the window (expires with the window)
-- KEYS[2]  block marker (exists while the caller is blocked)
-- ARGV[1]  window length, ms
-- ARGV[2]  hits allowed per window
-- ARGV[3]  block length, ms
-- Returns  { hits, ms until the window ends, 1 if blocked else 0, ms until the block ends }
--- @keys 2
local blocked_ms = redis.call('PTTL', KEYS[2])
if blocked_ms > 0 then
  local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
  return { hits, math.max(redis.call('PTTL', KEYS[1]), 0), 1, blocked_ms }
end

local hits = redis.call('INCR', KEYS[1])
if hits == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local window_ms = redis.call('PTTL', KEYS[1])

if hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  -- After the block the caller starts a fresh window rather than being blocked again at once.
  redis.call('DEL', KEYS[1])
  return { hits, window_ms, 1, tonumber(ARGV[3]) }
end
return { hits, window_ms, 0, 0 }
