--[[
  Marks a seat of a purchase as given away by a transfer before the accept is recorded in
  PostgreSQL, unless the purchase or its performance was canceled, or the seat refunded (an
  operator's partial refund, refund-seats.lua, lists it in the purchase's `refundedSeats` before
  PostgreSQL voids its ticket, as check-in-mark.lua reads it): with cancel-purchase.lua, which
  refuses a buyer's cancel of a purchase with a marked seat, exactly one of an accept and a buyer's
  cancel of one purchase goes through, whichever script runs first (as check-in-mark.lua orders a
  check-in and a cancel). The mark expires after ARGV[2] seconds, by when PostgreSQL holds the
  accept (`tickets.holder_id`, which the cancel reads as well).

  KEYS[1] purchase     hash of the purchase (status CANCELED once canceled, refundedSeats the seats
                       refunded from it; absent once written to PostgreSQL and expired, when
                       PostgreSQL's ticket status says the rest)
  KEYS[2] transferred  set of the purchase's seat ids given away by transfers
  KEYS[3] meta         hash of the performance: status CANCELED once the performance was canceled

  ARGV[1] seat id
  ARGV[2] lifetime of the mark, in seconds

  Returns one of
    {'MARKED', 1 when this call added the seat, 0 when it was marked already}
    {'CANCELED'}              the purchase was canceled or the seat refunded: nothing marked
    {'PERFORMANCE_CANCELED'}  the performance was canceled: nothing marked
]]
--- @keys 3
local purchaseKey, transferredKey, metaKey = KEYS[1], KEYS[2], KEYS[3]
local seatId, lifetime = ARGV[1], tonumber(ARGV[2])

if redis.call('HGET', metaKey, 'status') == 'CANCELED' then return {'PERFORMANCE_CANCELED'} end
local purchase = redis.call('HMGET', purchaseKey, 'status', 'refundedSeats')
if purchase[1] == 'CANCELED' then return {'CANCELED'} end
for refunded in string.gmatch(purchase[2] or '', '[^,]+') do
  if refunded == seatId then return {'CANCELED'} end
end
local added = redis.call('SADD', transferredKey, seatId)
redis.call('EXPIRE', transferredKey, lifetime)
return {'MARKED', added}
