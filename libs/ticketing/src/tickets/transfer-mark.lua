--[[
  Marks a seat of a purchase as given away by a transfer before the accept is recorded in
  PostgreSQL, unless the purchase or its performance was canceled, or the seat refunded (an
  operator's partial refund, refund-seats.lua, lists it in the purchase's `refundedSeats` before
  PostgreSQL voids its ticket, as check-in-mark.lua reads it): with cancel-purchase.lua, which
  refuses a buyer's cancel of a purchase with a marked seat, exactly one of an accept and a buyer's
  cancel of one purchase goes through, whichever script runs first (as check-in-mark.lua orders a
  check-in and a cancel). The mark expires after ARGV[3] seconds, by when PostgreSQL holds the
  accept (`tickets.holder_id`, which the cancel reads as well).

  The mark records the transfer whose accept set it (KEYS[4]), also over a mark of the seat already
  there: a take-back of a mark read as dead (unmark-transfers.lua) then leaves the mark of a newer
  accept alone. The seat set (KEYS[2]) keeps its format, bare seat ids, so cancel-purchase.lua of
  every version reads the mark.

  KEYS[1] purchase     hash of the purchase (status CANCELED once canceled, refundedSeats the seats
                       refunded from it; absent once written to PostgreSQL and expired, when
                       PostgreSQL's ticket status says the rest)
  KEYS[2] transferred  set of the purchase's seat ids given away by transfers
  KEYS[3] meta         hash of the performance: status CANCELED once the performance was canceled
  KEYS[4] owners       hash seat id -> id of the transfer whose accept set the seat's mark

  ARGV[1] seat id
  ARGV[2] transfer id of the accept
  ARGV[3] lifetime of the mark, in seconds

  Returns one of
    {'MARKED', 1 when this call added the seat, 0 when it was marked already}
    {'CANCELED'}              the purchase was canceled or the seat refunded: nothing marked
    {'PERFORMANCE_CANCELED'}  the performance was canceled: nothing marked
]]
--- @keys 4
local purchaseKey, transferredKey, metaKey, ownersKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local seatId, transferId, lifetime = ARGV[1], ARGV[2], tonumber(ARGV[3])

if redis.call('HGET', metaKey, 'status') == 'CANCELED' then return {'PERFORMANCE_CANCELED'} end
local purchase = redis.call('HMGET', purchaseKey, 'status', 'refundedSeats')
if purchase[1] == 'CANCELED' then return {'CANCELED'} end
for refunded in string.gmatch(purchase[2] or '', '[^,]+') do
  if refunded == seatId then return {'CANCELED'} end
end
local added = redis.call('SADD', transferredKey, seatId)
redis.call('EXPIRE', transferredKey, lifetime)
redis.call('HSET', ownersKey, seatId, transferId)
redis.call('EXPIRE', ownersKey, lifetime)
return {'MARKED', added}
