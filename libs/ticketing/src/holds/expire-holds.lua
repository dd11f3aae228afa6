--[[
  Ends the given holds of one performance that are still HELD and past their expiry, and
  frees their seats. Every hold is checked again here, so sweepers running at the same time,
  or a release or purchase racing them, never free a seat twice or free a sold seat.

  KEYS[1] seats        hash seat id -> status letter (A available, H held, S sold)
  KEYS[2] counts       hash total, available, held, sold
  KEYS[3] expiry       sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[4] hold prefix  the hold hashes are this prefix followed by the hold id (same hash tag)

  ARGV    hold ids, candidates read from the expiry index

  Returns {holds expired, seats freed}.
]]
local seatsKey, countsKey, expiryKey, holdPrefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local expired, freed = 0, 0
for _, holdId in ipairs(ARGV) do
  local holdKey = holdPrefix .. holdId
  local hold = redis.call('HMGET', holdKey, 'status', 'expiresAt', 'seats')
  if hold[1] == 'HELD' and tonumber(hold[2]) <= now then
    for seatId in string.gmatch(hold[3], '[^,]+') do
      if redis.call('HGET', seatsKey, seatId) == 'H' then
        redis.call('HSET', seatsKey, seatId, 'A')
        freed = freed + 1
      end
    end
    redis.call('HSET', holdKey, 'status', 'EXPIRED', 'endedAt', now)
    redis.call('ZREM', expiryKey, holdId)
    expired = expired + 1
  elseif hold[1] ~= 'HELD' then
    -- The hold has ended some other way (or its record is gone): drop the stale index entry.
    redis.call('ZREM', expiryKey, holdId)
  end
end

-- Guarded: for 0, Lua's -freed is -0, which HINCRBY refuses as "not an integer".
if freed > 0 then
  redis.call('HINCRBY', countsKey, 'held', -freed)
  redis.call('HINCRBY', countsKey, 'available', freed)
end
return {expired, freed}
