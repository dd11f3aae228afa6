--[[
  Registers a chunk of seats of one performance. Idempotent: a seat already known keeps its
  status, so registering again never frees a held or sold seat; only its price is refreshed.
  A seat flagged sold (a purchase persisted in PostgreSQL, passed when rebuilding) becomes SOLD
  whatever its live status: a persisted sale is final. A seat flagged blocked (an operator's block
  in PostgreSQL, passed when rebuilding) is registered BLOCKED, and an AVAILABLE one becomes so; a
  held or sold seat stays its buyer's.

  KEYS[1] seats   hash seat id -> status letter (A available, H held, S sold, B blocked)
  KEYS[2] prices  hash seat id -> price (integer, minor units of the performance's currency)
  KEYS[3] counts  hash total, available, held, sold, blocked
  KEYS[4] free      best-available data (the seating include): free-seat bitmap,
  KEYS[5] seating   static layout hash,
  KEYS[6] runs      34-byte slot per row and section (the seating include, docs/seating.md),
  KEYS[7] seat info static seat ids, qualities and flags; seats the layout does not know yet
                    (a first registration writes it after the letters) are left to
                    rebuild-seating.lua
  KEYS[8] lease     the performance's rebuild lease (see finish-registration.lua)

  ARGV[1]   the rebuild lease's token ('' for a first registration, which takes no lease)
  ARGV[2..] triples: seat id, price (minor units), "1" if the seat is sold, "2" if blocked, else "0"

  Returns the number of seats that were not registered before, or -1 when the rebuild's lease is
  no longer its own (nothing written: a rebuild that lapsed must not write the prices and sales
  it read over newer ones).
]]
--- @keys 8
--- @include "seating"
local seatsKey, pricesKey, countsKey = KEYS[1], KEYS[2], KEYS[3]
local seating = { free = KEYS[4], layout = KEYS[5], runs = KEYS[6], info = KEYS[7] }
if ARGV[1] ~= '' and redis.call('GET', KEYS[8]) ~= ARGV[1] then return -1 end
local nowFree, nowTaken = {}, {}
local added, available, held, sold, blocked = 0, 0, 0, 0, 0

for i = 2, #ARGV, 3 do
  local seatId, price, isSold, isBlocked = ARGV[i], ARGV[i + 1], ARGV[i + 2] == '1', ARGV[i + 2] == '2'
  local status = redis.call('HGET', seatsKey, seatId)
  redis.call('HSET', pricesKey, seatId, price)
  if not status then
    added = added + 1
    if isSold then
      redis.call('HSET', seatsKey, seatId, 'S')
      sold = sold + 1
      nowTaken[#nowTaken + 1] = seatId
    elseif isBlocked then
      redis.call('HSET', seatsKey, seatId, 'B')
      blocked = blocked + 1
      nowTaken[#nowTaken + 1] = seatId
    else
      redis.call('HSET', seatsKey, seatId, 'A')
      available = available + 1
      nowFree[#nowFree + 1] = seatId
    end
  elseif isSold and status ~= 'S' then
    redis.call('HSET', seatsKey, seatId, 'S')
    sold = sold + 1
    if status == 'A' then
      available = available - 1
      nowTaken[#nowTaken + 1] = seatId
    elseif status == 'B' then
      blocked = blocked - 1
    else
      held = held - 1
      nowTaken[#nowTaken + 1] = seatId
    end
  elseif isBlocked and status == 'A' then
    redis.call('HSET', seatsKey, seatId, 'B')
    blocked = blocked + 1
    available = available - 1
    nowTaken[#nowTaken + 1] = seatId
  end
end
seatingMark(seating, nowFree, true)
seatingMark(seating, nowTaken, false)

redis.call('HINCRBY', countsKey, 'total', added)
redis.call('HINCRBY', countsKey, 'available', available)
redis.call('HINCRBY', countsKey, 'held', held)
redis.call('HINCRBY', countsKey, 'sold', sold)
if blocked ~= 0 then redis.call('HINCRBY', countsKey, 'blocked', blocked) end
return added
