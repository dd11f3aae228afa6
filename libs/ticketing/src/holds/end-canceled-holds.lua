--[[
  Ends the given holds of a canceled performance and frees their seats: a hold still HELD and
  live is marked RELEASED with endReason PERFORMANCE_CANCELED (the purchase scripts then refuse
  it as SALES_CLOSED CANCELED, as for a live hold); one HELD past its expiry is marked EXPIRED,
  as expire-holds.lua would. Each hold leaves the expiry index, whatever its status, so a caller
  paging through the index (oldest first) reaches its end. Runs only while the performance's live
  status is CANCELED: then no hold script adds a hold to the index any more, so the holds the
  index lists are all there are, and ending them leaves none HELD. Every hold is checked again
  here, so callers running at once (the cancel's request, batch's bulk refund), a release, an
  expiry or a purchase racing them, never free a seat twice or free a sold seat. A comp's house
  seats (the record's `fromBlock`: its purchase never came) go back to BLOCKED, not on sale, as
  expire-holds.lua puts them: their seat_blocks rows stay (a cancel keeps the blocks).

  KEYS[1] seats         hash seat id -> status letter (A available, H held, S sold, B blocked)
  KEYS[2] counts        hash total, available, held, sold, blocked
  KEYS[3] expiry        sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[4..7] seating    the seating include's free-seat bitmap, static layout hash, rows' runs and
                        seat info, as expire-holds.lua takes them (absent without a layout: left alone)
  KEYS[8] seat holds    hash seat id -> '<expiresAt (epoch ms)>:<hold id>' of the hold that took it
                        last: a seat another hold took since is not freed (freeSeats)
  KEYS[9] meta          hash of the performance: status (CANCELED here; anything else: nothing
                        changes); gone when it is not registered; a presale hold's seats go back to
                        the presale's allocation there (the presale-allocation include)
  KEYS[10..9+n] holds   hashes of the holds named in ARGV[1..n]

  ARGV[1..n] hold ids, read from the expiry index (n = #KEYS - 9)

  Returns {'OK', holds ended, seats freed} or {'NOT_CANCELED'} (the live status is not CANCELED,
  or the performance is not registered: nothing changed).
]]
--- @keys variable
--- @include "redis-time"
--- @include "free-seats"
--- @include "presale-allocation"
local seatsKey, countsKey, expiryKey, seatHoldsKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[8], KEYS[9]
local seating = { free = KEYS[4], layout = KEYS[5], runs = KEYS[6], info = KEYS[7] }
if #ARGV ~= #KEYS - 9 then return redis.error_reply('ERR end-canceled-holds: one hold key per hold id') end
if redis.call('HGET', metaKey, 'status') ~= 'CANCELED' then return {'NOT_CANCELED'} end

local now = redisNow()
local ended, freed = 0, 0
for i, holdId in ipairs(ARGV) do
  local holdKey = KEYS[9 + i]
  local hold = redis.call('HMGET', holdKey, 'status', 'expiresAt', 'seats', 'fromBlock', 'presale', 'presaleCounted')
  if hold[1] == 'HELD' then
    freed = freed + endHeldSeats(seatsKey, countsKey, hold[3], hold[4], seating, seatHoldsKey, holdId)
    presaleGiveBack(metaKey, hold[5], hold[6], seatCount(hold[3]))
    if tonumber(hold[2]) <= now then
      redis.call('HSET', holdKey, 'status', 'EXPIRED', 'endedAt', now)
    else
      redis.call('HSET', holdKey, 'status', 'RELEASED', 'endedAt', now, 'endReason', 'PERFORMANCE_CANCELED')
    end
    ended = ended + 1
  end
  redis.call('ZREM', expiryKey, holdId)
end
return {'OK', ended, freed}
