--[[
  Ends the given holds of one performance that are still HELD and past their expiry, and
  frees their seats. Every hold is checked again here, so sweepers running at the same time,
  or a release or purchase racing them, never free a seat twice or free a sold seat. The house
  seats a comp took out of their block (the record's `fromBlock`: an api died between the comp's
  hold and its purchase, so the transaction that deletes their seat_blocks rows never committed)
  go back to BLOCKED (counts held -> blocked), not on sale.

  KEYS[1] seats         hash seat id -> status letter (A available, H held, S sold, B blocked)
  KEYS[2] counts        hash total, available, held, sold, blocked
  KEYS[3] expiry        sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[4] free      best-available data (the seating include): free-seat bitmap,
  KEYS[5] seating   static layout hash,
  KEYS[6] runs      34-byte slot per row and section (the seating include, docs/seating.md),
  KEYS[7] seat info static seat ids, qualities and flags; a performance registered without a layout
                    has none of them, and they are left alone
  KEYS[8] seat holds    hash seat id -> '<expiresAt (epoch ms)>:<hold id>' of the hold that took it
                        last: a seat another hold took since is not freed (freeSeats)
  KEYS[9] meta          hash of the performance: a presale hold (the record's `presale`) gives its
                        seats back to the presale's allocation there (the presale-allocation include)
  KEYS[10..9+n] holds   hashes of the candidate holds, the holds named in ARGV[1..n]

  ARGV[1..n] hold ids, candidates read from the expiry index (n = #KEYS - 9)

  Returns {holds expired, seats freed (made available; not those blocked again)}.
]]
--- @keys variable
--- @include "redis-time"
--- @include "free-seats"
--- @include "presale-allocation"
local seatsKey, countsKey, expiryKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[9]
local seating = { free = KEYS[4], layout = KEYS[5], runs = KEYS[6], info = KEYS[7] }
if #ARGV ~= #KEYS - 9 then return redis.error_reply('ERR expire-holds: one hold key per hold id') end

local now = redisNow()
local expired, freed = 0, 0
for i, holdId in ipairs(ARGV) do
  local holdKey = KEYS[9 + i]
  local hold = redis.call('HMGET', holdKey, 'status', 'expiresAt', 'seats', 'fromBlock', 'presale', 'presaleCounted')
  if hold[1] == 'HELD' and tonumber(hold[2]) <= now then
    freed = freed + endHeldSeats(seatsKey, countsKey, hold[3], hold[4], seating, KEYS[8], holdId)
    presaleGiveBack(metaKey, hold[5], hold[6], seatCount(hold[3]))
    redis.call('HSET', holdKey, 'status', 'EXPIRED', 'endedAt', now)
    redis.call('ZREM', expiryKey, holdId)
    expired = expired + 1
  elseif hold[1] ~= 'HELD' then
    -- The hold has ended some other way (or its record is gone): drop the stale index entry.
    redis.call('ZREM', expiryKey, holdId)
  end
end
return {expired, freed}
