--[[
  Marks a seat of a purchase checked in before the door records it in PostgreSQL, unless the
  purchase or its performance was canceled, or the seat was refunded (an operator's partial refund,
  refund-seats.lua, lists it in the purchase's `refundedSeats` and puts it back on sale at once,
  before PostgreSQL voids its ticket): with cancel-purchase.lua, which refuses a purchase with a marked seat,
  exactly one of a check-in and a cancel of one purchase goes through, whichever script runs first.
  The mark expires after ARGV[2] seconds, by when PostgreSQL holds the check-in (the cancel reads
  checked-in seats from there as well).

  KEYS[1] purchase    hash of the purchase (status CANCELED once canceled, refundedSeats the seats
                      refunded from it; absent once written to PostgreSQL and expired, when
                      PostgreSQL's ticket status says the rest)
  KEYS[2] checked-in  set of the purchase's marks of checked-in seats, `<seat id>:<code version>:<scan
                      token>` (one per scan: a refused scan takes back only its own, and an undo of a
                      check-in, check-in-undo.lua, only the mark of the scan PostgreSQL recorded;
                      cancel-purchase.lua reads the seat id before the first colon)
  KEYS[3] meta        hash of the performance: status CANCELED once the performance was canceled
                      (its purchases are being refunded: no ticket of it admits anyone any more)

  ARGV[1] the mark: `<seat id>:<code version>:<scan token>` of the code scanned
  ARGV[2] lifetime of the mark, in seconds

  Returns one of
    {'MARKED', 1 when this call added the mark, 0 when it was there already}
    {'CANCELED'}   the purchase was canceled or the seat refunded: nothing marked
    {'PERFORMANCE_CANCELED'}  the performance was canceled: nothing marked
]]
--- @keys 3
local purchaseKey, checkedInKey, metaKey = KEYS[1], KEYS[2], KEYS[3]
local mark, lifetime = ARGV[1], tonumber(ARGV[2])

if redis.call('HGET', metaKey, 'status') == 'CANCELED' then return {'PERFORMANCE_CANCELED'} end
local purchase = redis.call('HMGET', purchaseKey, 'status', 'refundedSeats')
if purchase[1] == 'CANCELED' then return {'CANCELED'} end
local seatId = string.match(mark, '^[^:]+')
for refunded in string.gmatch(purchase[2] or '', '[^,]+') do
  if refunded == seatId then return {'CANCELED'} end
end
local added = redis.call('SADD', checkedInKey, mark)
redis.call('EXPIRE', checkedInKey, lifetime)
return {'MARKED', added}
