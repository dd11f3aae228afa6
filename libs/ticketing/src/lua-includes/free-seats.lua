--[[
  freeSeats(seatsKey, countsKey, seatList, from, seating, holder): makes AVAILABLE those seats of
  `seatList` (comma-separated seat ids) still in state `from` ('held' or 'sold') in the seats hash,
  and moves the counts hash from `from` to available by as many. A seat in any other state (sold
  by a rebuild while held, blocked, freed already) is left alone, so no seat is freed twice.
  `holder` (for 'held': { seatHolds = the seat holds key, holdId = the ending hold's id }) also
  leaves alone a held seat whose holder entry names another hold: a seat can leave an expired,
  not yet ended hold (an operator's block takes it) and be held again by a later hold before the
  first one ends, and ending the first must not free the later hold's seat (P1). A seat without
  an entry (held before entries were written) is freed as before.
  `seating` (optional, see the seating include) gets the freed seats' bits set and their rows'
  runs refreshed, so the best-available data follows every freed seat.
  Returns the number of seats freed.

  blockSeatsAgain(seatsKey, countsKey, seatList, seatHoldsKey, holdId): puts back to BLOCKED those
  seats of `seatList` (comma-separated: an operator's hold's `fromBlock`, the house seats a comp
  took out of their block) still H and held by `holdId` (their holder entry names it), counts held
  -> blocked. For every end of such a hold other than its purchase (a release on the comp path, an
  expiry): its seat_blocks rows were deleted only in the comp's transaction, which commits after
  the sale, so they are still there and Redis must agree. Call it before freeSeats, which then
  leaves them alone (no longer H). The free-seat bits need no change: a blocked seat's is clear, as
  a held one's. A seat without a holder entry is not this hold's here, while freeSeats frees it:
  holds with `fromBlock` are newer than holder entries, so each of their seats got one, and a
  missing entry means another end of the seat took it. Returns the number of seats blocked again.

  endHeldSeats(seatsKey, countsKey, seatList, fromBlock, seating, seatHoldsKey, holdId): the end of
  hold `holdId` other than its purchase: blockSeatsAgain of `fromBlock` (nil or '' for none), then
  freeSeats of `seatList` from 'held' with the holder check. Returns the number of seats freed.

  blockSoldSeats(seatsKey, countsKey, seatList): puts back to BLOCKED those seats of `seatList`
  (comma-separated: house seats a comp took out of their block, its purchase's `fromBlock`) still
  S, counts sold -> blocked: a comp's cancel or refund gives a house seat back to its block, never
  to public sale (the write of the cancellation to PostgreSQL moves its block back to seat_blocks).
  Call it before freeSeats, which then leaves them alone (no longer S). The free-seat bits need no
  change: a blocked seat's is clear, as a sold one's. Returns the number of seats blocked again.

  houseSeatsAmong(fromBlock, seatIds): those of `seatIds` (a list) that `fromBlock` (a purchase's
  comma-separated house seats, or false/nil/'' for none) names, comma-separated.
]]
--- @include "seating"
local function freeSeats(seatsKey, countsKey, seatList, from, seating, holder)
  local letter = ({ held = 'H', sold = 'S' })[from]
  local seatIds = {}
  for seatId in string.gmatch(seatList, '[^,]+') do seatIds[#seatIds + 1] = seatId end
  if #seatIds == 0 then return 0 end
  local letters = redis.call('HMGET', seatsKey, unpack(seatIds))
  local holders = holder and redis.call('HMGET', holder.seatHolds, unpack(seatIds))
  local mine = holder and (':' .. holder.holdId)
  local freed = 0
  local freedIds = {}
  for i, seatId in ipairs(seatIds) do
    local entry = holders and holders[i]
    if letters[i] == letter and (not entry or string.sub(entry, -#mine) == mine) then
      freed = freed + 1
      freedIds[freed] = seatId
    end
  end
  if freed == 0 then return 0 end
  local fields = {}
  for _, seatId in ipairs(freedIds) do
    fields[#fields + 1] = seatId
    fields[#fields + 1] = 'A'
  end
  redis.call('HSET', seatsKey, unpack(fields))
  seatingMark(seating, freedIds, true)
  redis.call('HINCRBY', countsKey, from, -freed)
  redis.call('HINCRBY', countsKey, 'available', freed)
  return freed
end

local function blockSeatsAgain(seatsKey, countsKey, seatList, seatHoldsKey, holdId)
  local seatIds = {}
  for seatId in string.gmatch(seatList, '[^,]+') do seatIds[#seatIds + 1] = seatId end
  if #seatIds == 0 then return 0 end
  local letters = redis.call('HMGET', seatsKey, unpack(seatIds))
  local holders = redis.call('HMGET', seatHoldsKey, unpack(seatIds))
  local back, count = {}, 0
  for i, seatId in ipairs(seatIds) do
    if letters[i] == 'H' and string.match(holders[i] or '', ':(.+)$') == holdId then
      count = count + 1
      back[#back + 1] = seatId
      back[#back + 1] = 'B'
    end
  end
  if count == 0 then return 0 end
  redis.call('HSET', seatsKey, unpack(back))
  redis.call('HINCRBY', countsKey, 'held', -count)
  redis.call('HINCRBY', countsKey, 'blocked', count)
  return count
end

local function endHeldSeats(seatsKey, countsKey, seatList, fromBlock, seating, seatHoldsKey, holdId)
  if fromBlock then blockSeatsAgain(seatsKey, countsKey, fromBlock, seatHoldsKey, holdId) end
  return freeSeats(seatsKey, countsKey, seatList, 'held', seating, { seatHolds = seatHoldsKey, holdId = holdId })
end

local function blockSoldSeats(seatsKey, countsKey, seatList)
  local seatIds = {}
  for seatId in string.gmatch(seatList, '[^,]+') do seatIds[#seatIds + 1] = seatId end
  if #seatIds == 0 then return 0 end
  local letters = redis.call('HMGET', seatsKey, unpack(seatIds))
  local back, count = {}, 0
  for i, seatId in ipairs(seatIds) do
    if letters[i] == 'S' then
      count = count + 1
      back[#back + 1] = seatId
      back[#back + 1] = 'B'
    end
  end
  if count == 0 then return 0 end
  redis.call('HSET', seatsKey, unpack(back))
  redis.call('HINCRBY', countsKey, 'sold', -count)
  redis.call('HINCRBY', countsKey, 'blocked', count)
  return count
end

local function houseSeatsAmong(fromBlock, seatIds)
  if not fromBlock or fromBlock == '' then return '' end
  local isHouse, among = {}, {}
  for seatId in string.gmatch(fromBlock, '[^,]+') do isHouse[seatId] = true end
  for _, seatId in ipairs(seatIds) do
    if isHouse[seatId] then among[#among + 1] = seatId end
  end
  return table.concat(among, ',')
end
