--[[
  Takes back transfer accept marks (transfer-mark.lua) of a purchase, each only while it is the
  mark the caller read: the seat still marked and set by the same transfer's accept (a compare and
  delete). A mark a newer accept set since then names that accept's transfer and is kept, so a
  take-back decided on an earlier read (DeadAcceptMarks, or an accept PostgreSQL refused) never
  removes the mark of an accept that may still commit.

  A mark set by an earlier version has no owner: the caller names it with '' and it is taken back
  while it still has none (an accept of an earlier version, which records none, is not told apart).

  KEYS[1] transferred  set of the purchase's seat ids marked by accepts
  KEYS[2] owners       hash seat id -> id of the transfer whose accept set the seat's mark

  ARGV    pairs: seat id, the transfer id the caller read as its mark's owner ('' for none)

  Returns the seat ids whose marks were taken back, in ARGV's order (none: nothing changed).
]]
--- @keys 2
local transferredKey, ownersKey = KEYS[1], KEYS[2]

local taken = {}
for i = 1, #ARGV - 1, 2 do
  local seatId, owner = ARGV[i], ARGV[i + 1]
  if redis.call('SISMEMBER', transferredKey, seatId) == 1
    and (redis.call('HGET', ownersKey, seatId) or '') == owner then
    redis.call('SREM', transferredKey, seatId)
    redis.call('HDEL', ownersKey, seatId)
    taken[#taken + 1] = seatId
  end
end
return taken
