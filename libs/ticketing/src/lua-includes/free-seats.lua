--[[
  freeSeats(seatsKey, countsKey, seatList, from): makes AVAILABLE those seats of `seatList`
  (comma-separated seat ids) still in state `from` ('held' or 'sold') in the seats hash, and
  moves the counts hash from `from` to available by as many. A seat in any other state (sold
  by a rebuild while held, freed already) is left alone, so no seat is freed twice.
  Returns the number of seats freed.
]]
local function freeSeats(seatsKey, countsKey, seatList, from)
  local letter = ({ held = 'H', sold = 'S' })[from]
  local freed = 0
  for seatId in string.gmatch(seatList, '[^,]+') do
    if redis.call('HGET', seatsKey, seatId) == letter then
      redis.call('HSET', seatsKey, seatId, 'A')
      freed = freed + 1
    end
  end
  -- Guarded: for 0, Lua's -freed is -0, which HINCRBY refuses as "not an integer".
  if freed > 0 then
    redis.call('HINCRBY', countsKey, from, -freed)
    redis.call('HINCRBY', countsKey, 'available', freed)
  end
  return freed
end
