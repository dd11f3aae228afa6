--[[
  freeSeats(seatsKey, countsKey, seatList, from, seating): makes AVAILABLE those seats of `seatList`
  (comma-separated seat ids) still in state `from` ('held' or 'sold') in the seats hash, and
  moves the counts hash from `from` to available by as many. A seat in any other state (sold
  by a rebuild while held, freed already) is left alone, so no seat is freed twice.
  `seating` (optional, see the seating include) gets the freed seats' bits set and their rows'
  runs refreshed, so the best-available data follows every freed seat.
  Returns the number of seats freed.
]]
--- @include "seating"
local function freeSeats(seatsKey, countsKey, seatList, from, seating)
  local letter = ({ held = 'H', sold = 'S' })[from]
  local freed = 0
  local freedIds = {}
  for seatId in string.gmatch(seatList, '[^,]+') do
    if redis.call('HGET', seatsKey, seatId) == letter then
      redis.call('HSET', seatsKey, seatId, 'A')
      freed = freed + 1
      freedIds[freed] = seatId
    end
  end
  seatingMark(seating, freedIds, true)
  -- Guarded: for 0, Lua's -freed is -0, which HINCRBY refuses as "not an integer".
  if freed > 0 then
    redis.call('HINCRBY', countsKey, from, -freed)
    redis.call('HINCRBY', countsKey, 'available', freed)
  end
  return freed
end
