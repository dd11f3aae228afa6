--[[
  Takes back the Redis side of a check-in being undone at the door, unless the purchase or its
  performance was canceled or the seat refunded (listed in the purchase's `refundedSeats` by an
  operator's partial refund, refund-seats.lua, which may have kept it sold as checked in): with cancel-purchase.lua, which reads the marks and the undone set in
  its own run, exactly one of an undo and a cancel of one purchase decides whether the seat counts
  as checked in, whichever script runs first. A cancel first (it may have kept the seat sold as
  checked in): the undo is refused and PostgreSQL keeps the check-in. The undo first: the seat's
  mark of this check-in is gone, and its entry in the undone set makes a cancel that read the
  check-in from PostgreSQL before the undo cleared it there leave it out.

  KEYS[1] purchase    hash of the purchase (status CANCELED once canceled, refundedSeats the seats
                      refunded from it; absent once written to PostgreSQL and expired, when
                      PostgreSQL's status says the rest)
  KEYS[2] checked-in  set of the purchase's marks of checked-in seats (check-in-mark.lua)
  KEYS[3] meta        hash of the performance: status CANCELED once the performance was canceled
  KEYS[4] undone      set of the purchase's undone check-ins, `<seat id>/<check-in identity>`

  ARGV[1] the undone check-in: `<seat id>/<check-in identity>` (the ticket's check_in_mark, or
          `at:<epoch µs>` of its checked_in_at for a check-in made before marks had tokens)
  ARGV[2] lifetime of the undone set, in seconds (as long as a check-in mark lives)
  ARGV[3..] the marks of this check-in to remove: `<seat id>:<code version>:<token>`, or for a
          check-in made before tokens the marks an earlier version set (`<seat id>:<code version>`,
          `<seat id>`)

  Returns one of
    {'UNDONE'}
    {'CANCELED'}              the purchase was canceled or the seat refunded: nothing changed
    {'PERFORMANCE_CANCELED'}  the performance was canceled: nothing changed
]]
--- @keys 4
local purchaseKey, checkedInKey, metaKey, undoneKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local undone, lifetime = ARGV[1], tonumber(ARGV[2])

if redis.call('HGET', metaKey, 'status') == 'CANCELED' then return {'PERFORMANCE_CANCELED'} end
local purchase = redis.call('HMGET', purchaseKey, 'status', 'refundedSeats')
if purchase[1] == 'CANCELED' then return {'CANCELED'} end
local seatId = string.match(undone, '^[^/]+')
for refunded in string.gmatch(purchase[2] or '', '[^,]+') do
  if refunded == seatId then return {'CANCELED'} end
end
for i = 3, #ARGV do redis.call('SREM', checkedInKey, ARGV[i]) end
redis.call('SADD', undoneKey, undone)
redis.call('EXPIRE', undoneKey, lifetime)
return {'UNDONE'}
