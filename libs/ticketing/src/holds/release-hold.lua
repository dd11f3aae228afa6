--[[
  Releases a live hold now, for its owner: its seats become AVAILABLE again. A hold that has
  ended already (released, expired, bought) changes nothing.

  KEYS[1] seats   hash seat id -> status letter (A available, H held, S sold)
  KEYS[2] counts  hash total, available, held, sold
  KEYS[3] expiry  sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[4] hold    hash of the hold
  KEYS[5] free      best-available data (the seating include): free-seat bitmap,
  KEYS[6] seating   static layout hash,
  KEYS[7] runs      34-byte slot per row and section (the seating include, docs/seating.md),
  KEYS[8] seat info static seat ids, qualities and flags; a performance registered without a layout
                    has none of them, and they are left alone
  KEYS[9] seat holds hash seat id -> '<expiresAt (epoch ms)>:<hold id>' of the hold that took it
                    last: a seat another hold took since is not freed (freeSeats)
  KEYS[10] meta     hash of the performance: a presale hold (the record's `presale`) gives its seats
                    back to the presale's allocation there (the presale-allocation include)

  ARGV[1] hold id
  ARGV[2] user id of the caller
  ARGV[3] '1' on the operator path (CompService or BoxOfficeService ends its hold whose purchase
          failed), '' for the hold's owner: an operator's hold (a comp's, a box office sale's) is
          released only on the operator path, and only an operator's hold there. A comp's seats taken from blocked ones (the record's `fromBlock`) go back to BLOCKED, not
          on sale (counts held -> blocked): the comp's transaction, which deleted their blocks,
          does not commit

  Returns 'RELEASED', 'NOT_FOUND' (no such hold, or not the caller's, or an operator's hold off the
  operator path, or a buyer's hold on it), 'ALREADY_RELEASED',
  'EXPIRED' or 'PURCHASED'.
]]
--- @keys 10
--- @include "redis-time"
--- @include "free-seats"
--- @include "presale-allocation"
local seatsKey, countsKey, expiryKey, holdKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local seating = { free = KEYS[5], layout = KEYS[6], runs = KEYS[7], info = KEYS[8] }
local holdId, userId = ARGV[1], ARGV[2]

local hold = redis.call('HMGET', holdKey, 'userId', 'status', 'expiresAt', 'seats', 'comp', 'fromBlock', 'boxOffice',
  'presale', 'presaleCounted')
if hold[1] ~= userId or ((hold[5] or hold[7]) and true or false) ~= (ARGV[3] == '1') then return 'NOT_FOUND' end
local status = hold[2]
if status == 'RELEASED' then return 'ALREADY_RELEASED' end
if status ~= 'HELD' then return status end

local now = redisNow()
-- Expired but not swept yet: the sweeper frees it; the caller only learns it expired.
if tonumber(hold[3]) <= now then return 'EXPIRED' end

-- House seats back to their block first, then only seats still held go back on sale: a seat marked
-- sold by a rebuild stays sold.
endHeldSeats(seatsKey, countsKey, hold[4], hold[6], seating, KEYS[9], holdId)
presaleGiveBack(KEYS[10], hold[8], hold[9], seatCount(hold[4]))
redis.call('HSET', holdKey, 'status', 'RELEASED', 'endedAt', now)
redis.call('ZREM', expiryKey, holdId)
return 'RELEASED'
