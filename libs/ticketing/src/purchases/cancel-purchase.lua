--[[
  Cancels the caller's paid purchase: its seats become AVAILABLE again, the counters move
  from sold to available (a comp's house seats, its `fromBlock`, go back to BLOCKED instead, counts
  sold -> blocked: the write of the cancellation to PostgreSQL gives them their seat_blocks rows
  back), the purchase is marked CANCELED and the cancellation is appended to
  the performance's purchase stream, so `batch` writes it to PostgreSQL whether or not the
  purchase itself was written there yet. Redis TIME is the only clock.

  When the purchase record is no longer in Redis (written to PostgreSQL long ago), the caller
  passes the record read from PostgreSQL, and it is put back first.

  A purchase with a checked-in ticket of a seat it still has (the seat in KEYS[6], which
  check-in-mark.lua fills before the door writes PostgreSQL, or in ARGV[4], read from PostgreSQL)
  is not canceled: whoever came in used the seat. A checked-in seat a partial refund kept sold
  (refund-seats.lua took it off the purchase's `seats`) is not one of them: it refuses neither a
  buyer's nor an operator's cancel of the other seats, nor is it kept again by it. Check-in and
  cancel of one purchase are so ordered by Redis: the first of the two scripts to run wins, the
  other is refused. Only an operator who says the used seats are not to be sold again
  ('operator-keep-checked-in') cancels it: the purchase is refunded and canceled, its other seats
  are freed, the checked-in ones stay sold.

  KEYS[1] seats       hash seat id -> status letter (A available, H held, B blocked, S sold)
  KEYS[2] counts      hash total, available, held, blocked, sold
  KEYS[3] purchase    hash of the purchase
  KEYS[4] stream      the performance's purchase stream
  KEYS[5] meta        hash of the performance: currency (present once it is registered),
                      cancelUntil (epoch ms, or 'none' when buyers may not cancel; absent: no limit);
                      a presale purchase's (its `presale`) seats go back to that presale's
                      allocation there (the presale-allocation include)
  KEYS[6] checked-in  set of the marks of the purchase's seats checked in at the door,
                      `<seat id>:<code version>:<scan token>` (check-in-mark.lua; `<seat id>:<code
                      version>` and a bare seat id from earlier versions count too)
  KEYS[7] free      best-available data (the seating include): free-seat bitmap,
  KEYS[8] seating   static layout hash,
  KEYS[9] runs      34-byte slot per row and section (the seating include, docs/seating.md),
  KEYS[10] seat info static seat ids, qualities and flags; a performance registered without a layout
                    has none of them, and they are left alone
  KEYS[11] tickets  hash user id -> seats of the user's paid purchases not canceled: the
           bought   canceled purchase's seats (all of them, the checked-in ones an operator kept
                    sold too: the buyer has no ticket of it left) leave the buyer's count (a box
                    office sale's or a guest comp's never were in the owning operator's)
  KEYS[12] transferred  set of the purchase's seat ids whose ticket is being, or was, accepted by
                    a transfer's recipient (tickets/transfer-mark.lua marks it before PostgreSQL
                    records the accept): a buyer's cancel is refused ('TRANSFERRED') while one of
                    them (or of ARGV[6]) is still a seat of the purchase, an operator's is not (a
                    refund of a transferred ticket is the box office's call)
  KEYS[13] undone     set of the purchase's check-ins undone at the door, `<seat id>/<check-in
                    identity>` (tickets/check-in-undo.lua): a check-in of ARGV[4] found there was
                    read from PostgreSQL before its undo cleared it, and is left out
  KEYS[14] optional, an operator's cancel only: the operator's Idempotency-Key record
                    (lua-includes/refund-request.lua)

  ARGV[1] purchase id
  ARGV[2] user id of the purchase's buyer
  ARGV[3] who cancels: 'buyer' (cancelUntil applies), 'operator' (no window), or
          'operator-keep-checked-in' (no window; checked-in seats stay sold)
  ARGV[4] seats known checked in from PostgreSQL, comma-separated ('' for none), each
          `<seat id>/<check-in identity>` (the ticket's check_in_mark, or `at:<epoch µs>`); a bare
          seat id counts as ever
  ARGV[5] who the cancellation is by, for the buyer's notice: 'buyer', 'operator', or 'performance'
          (the bulk refund of a canceled performance); kept on the hash and the cancel entry, as
          are the seat ids kept sold (`keptSeatIds`, comma-separated, '' for none); the entry also
          carries what the cancel gives back (`amount`: the purchase's amount less its partial refunds)
  ARGV[6] seats PostgreSQL says were transferred (an accepted transfer's holder), comma-separated
          ('' for none; read for 'buyer' only): the Redis marks of accepts expire
  ARGV[7] with KEYS[14]: what the refund asks for (refund-request.lua's `request`), else ''
  ARGV[8] with KEYS[14]: how long the key's record is kept, ms, else ''
  ARGV[9] an operator's cancel: the operator's account id (who gives the money back), carried on the
          cancel entry as `operatorId`, so the cancellation's write records who made it
          (`purchases.canceled_by_id`); '' for a buyer's cancel or a canceled show's bulk refund
          (the entry has no `operatorId` then); the hash keeps it as `canceledById` ('' for none),
          beside `canceledAmount` (the entry's `amount`)
  ARGV[10..] optional: the persisted record as field, value pairs (used only when KEYS[3] is
            missing)

  Returns one of
    {'REPLAY', '', '', the first answer's fields ...}  with KEYS[14]: the key's cancel made before
                           (refund-request.lua): nothing changed now
    {'KEY_REUSED'}         with KEYS[14]: the key was used for another request; nothing changed
    {'CANCELED', canceledAt (epoch ms), charge id ('' when none: a free purchase), seat ids kept
     sold (comma-separated, '' for none), amount (minor units; 0: free, nothing to refund),
     currency, box office payment method ('' for an online sale)}: the last three for the refund
     (a box office sale's is given back at the window, never through the gateway)
    {'NOT_FOUND'}          no such purchase, or not the caller's, or parked by the flusher
                           (parkedAt)
    {'ALREADY_CANCELED'}   canceled before: by an operator's refund (whole, or a partial refund of its
                           last seats), with its performance, or by a version that kept no
                           `canceledBy`; and to an operator's cancel, however it was canceled
    {'CANCELED_BY_BUYER'}  'buyer' only: the buyer's cancel again (a retry after an answer lost, a
                           503, a double click): the hash says its buyer canceled it (`canceledBy`
                           'buyer'); nothing written. Told before the cancelUntil, transfer and
                           check-in refusals (the first cancel passed them, and a canceled ticket is
                           neither checked in nor transferred since), so the caller answers as the
                           first cancel did
    {'TRANSFERRED', seat ids (comma-separated)}  refused ('buyer' only): tickets of seats it still
                           has were given to someone by a transfer (told before the refusals below)
    {'CANCEL_CLOSED', cancelUntil (epoch ms, or 'none')}  a buyer, and Redis TIME is past
                           cancelUntil
    {'CHECKED_IN', seat ids checked in (comma-separated)}  refused: a ticket was checked in
    {'BOX_OFFICE'}         refused ('buyer' only), before any other refusal but NOT_FOUND: a box
                           office sale (`boxOffice`) is the venue's, refunded by an admin (its money
                           goes back at the window), never the selling account's to cancel; so is a
                           guest comp (`comp` with a `deliveryEmail`: held under the issuing
                           operator's account for a guest without one)
    {'COMP'}               refused ('buyer' only): a comp (`comp`, complimentary tickets an operator
                           issued) is the operators' to take back (an admin's refund), not its
                           recipient's to cancel: its seats are the venue's allocation
    {'NOT_REGISTERED'}     Redis does not hold the performance's live state (lost, not rebuilt yet):
                           nothing written; the caller rebuilds it from PostgreSQL and asks again
                           (freeing seats into a missing state would be overwritten by the rebuild,
                           and a missing cancelUntil would read as no limit)
]]
--- @keys variable
--- @include "redis-time"
--- @include "free-seats"
--- @include "refund-request"
--- @include "presale-allocation"
local seatsKey, countsKey, purchaseKey, streamKey, metaKey, checkedInKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local seating = { free = KEYS[7], layout = KEYS[8], runs = KEYS[9], info = KEYS[10] }
local purchaseId, userId, mode, knownCheckedIn, canceledBy = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local requestKey, request, retention = KEYS[14], ARGV[7], tonumber(ARGV[8])
local operatorId = ARGV[9]

-- The refusal for what the purchase is, or nil, on either path its record comes by. A buyer's cancel
-- of a box office sale or a guest comp (`boxOffice` or `deliveryEmail`: the venue's) is refused before anything
-- else, so the selling account learns nothing of the sale's state; then a purchase already
-- CANCELED (`status`: nil for a record read from PostgreSQL, whose status is read once it is put
-- back; its buyer's own cancel told apart by `canceledBy`, the retry of a buyer's cancel being that
-- cancel); then a buyer's cancel of a comp (`comp`, the operators' to take back).
local function refusalOf(boxOffice, comp, status, canceledBefore)
  if mode == 'buyer' and boxOffice then return {'BOX_OFFICE'} end
  if status == 'CANCELED' then
    if mode == 'buyer' and canceledBefore == 'buyer' then return {'CANCELED_BY_BUYER'} end
    return {'ALREADY_CANCELED'}
  end
  if mode == 'buyer' and comp then return {'COMP'} end
  return nil
end

local answered = refundAnsweredBefore(requestKey, request)
if answered then return answered end

local meta = redis.call('HMGET', metaKey, 'currency', 'cancelUntil')
if not meta[1] then return {'NOT_REGISTERED'} end
local now = redisNow()
local cancelUntil = meta[2]
local cancelClosed = mode == 'buyer'
  and (cancelUntil == 'none' or (cancelUntil and now > tonumber(cancelUntil)))

-- The purchase's seats, from Redis or from the persisted record the caller passed. A checked-in
-- seat an operator's partial refund kept sold (refund-seats.lua) left `seats` with it: the
-- purchase's no more, so its check-in neither refuses this cancel nor is kept by it.
local persisted, persistedFields, seatList = nil, nil, nil
if redis.call('EXISTS', purchaseKey) == 0 and #ARGV > 9 then
  persisted, persistedFields = {}, {}
  for i = 10, #ARGV do persisted[#persisted + 1] = ARGV[i] end
  for i = 10, #ARGV - 1, 2 do persistedFields[ARGV[i]] = ARGV[i + 1] end
  -- A sale PostgreSQL has counts in its presale's allocation (a rebuild counts every one).
  if persistedFields.presale then
    persisted[#persisted + 1] = 'presaleCounted'
    persisted[#persisted + 1] = '1'
  end
  seatList = persistedFields.seats
else
  seatList = redis.call('HGET', purchaseKey, 'seats')
end
local ofPurchase = {}
for seatId in string.gmatch(seatList or '', '[^,]+') do ofPurchase[seatId] = true end

local checkedIn, checkedInList = {}, {}
local function noteCheckedIn(seatId)
  if ofPurchase[seatId] and not checkedIn[seatId] then
    checkedIn[seatId] = true
    checkedInList[#checkedInList + 1] = seatId
  end
end
-- Marks are `<seat id>:<code version>` (check-in-mark.lua); a bare seat id is a mark set before
-- marks had versions, kept for its lifetime.
for _, mark in ipairs(redis.call('SMEMBERS', checkedInKey)) do noteCheckedIn(string.match(mark, '^[^:]+')) end
-- A check-in undone after the caller read it from PostgreSQL is not one any more.
for entry in string.gmatch(knownCheckedIn, '[^,]+') do
  if redis.call('SISMEMBER', KEYS[13], entry) == 0 then noteCheckedIn(string.match(entry, '^[^/]+')) end
end
local refusedForCheckIn = #checkedInList > 0 and mode ~= 'operator-keep-checked-in'
-- As for check-ins, a transferred seat a partial refund took off the purchase refuses nothing.
local transferredList = {}
if mode == 'buyer' then
  local seen = {}
  local function noteTransferred(seatId)
    if ofPurchase[seatId] and not seen[seatId] then
      seen[seatId] = true
      transferredList[#transferredList + 1] = seatId
    end
  end
  for _, seatId in ipairs(redis.call('SMEMBERS', KEYS[12])) do noteTransferred(seatId) end
  for seatId in string.gmatch(ARGV[6], '[^,]+') do noteTransferred(seatId) end
end
local refusedForTransfer = #transferredList > 0

if persisted then
  -- The caller checked the persisted record's owner; a refused cancel leaves no record behind.
  -- A guest comp (a delivery address) is the venue's as a box office sale is.
  local refusal = refusalOf(persistedFields.boxOffice or persistedFields.deliveryEmail, persistedFields.comp, nil, nil)
  if refusal then return refusal end
  if refusedForTransfer then return {'TRANSFERRED', table.concat(transferredList, ',')} end
  if cancelClosed then return {'CANCEL_CLOSED', cancelUntil} end
  if refusedForCheckIn then return {'CHECKED_IN', table.concat(checkedInList, ',')} end
  redis.call('HSET', purchaseKey, unpack(persisted))
end

local purchase = redis.call('HMGET', purchaseKey, 'userId', 'status', 'seats', 'chargeId', 'parkedAt', 'amount', 'currency',
  'boxOffice', 'comp', 'fromBlock', 'deliveryEmail', 'canceledBy', 'presale', 'presaleCounted')
-- The venue's, not its owning account's: a box office sale, or a guest comp (a delivery address).
local venues = purchase[8] or purchase[11]
-- Parked by the flusher (PostgreSQL refused it for good): it did not happen, and its seats may be
-- sold to someone else by now; its charge is the payment reconciler's to refund.
if purchase[1] ~= userId or purchase[5] then return {'NOT_FOUND'} end
local refusal = refusalOf(venues, purchase[9], purchase[2], purchase[12])
if refusal then return refusal end

-- A transferred ticket is told first: only the box office can undo that sale, whatever else stands.
if refusedForTransfer then return {'TRANSFERRED', table.concat(transferredList, ',')} end
if cancelClosed then return {'CANCEL_CLOSED', cancelUntil} end
if refusedForCheckIn then return {'CHECKED_IN', table.concat(checkedInList, ',')} end

-- The seats of the purchase but the checked-in ones (none unless the operator kept them) go back on sale.
local toFree, kept = {}, {}
for seatId in string.gmatch(purchase[3], '[^,]+') do
  if checkedIn[seatId] then kept[#kept + 1] = seatId else toFree[#toFree + 1] = seatId end
end
-- A comp's house seats (`fromBlock`) go back to their block first; freeSeats leaves them alone then.
blockSoldSeats(seatsKey, countsKey, houseSeatsAmong(purchase[10], toFree))
freeSeats(seatsKey, countsKey, table.concat(toFree, ','), 'sold', seating)

-- Never below 0: a count built from PostgreSQL after an upgrade may lack a purchase made before it.
if not venues and redis.call('HINCRBY', KEYS[11], userId, -(#toFree + #kept)) <= 0 then
  redis.call('HDEL', KEYS[11], userId)
end
-- Its presale's allocation gets every seat back, the kept ones too: their tickets are canceled, and
-- a rebuild counts active tickets only.
presaleGiveBack(metaKey, purchase[13], purchase[14], #toFree + #kept)
local keptList = table.concat(kept, ',')
-- The kept seats go with the cancellation (hash and entry), so its notice tells the buyer which
-- seats stay sold whichever write reaches PostgreSQL first.
-- What it gives back and the operator too: a purchase canceled before its flush is written CANCELED
-- from this hash (canceled-purchases.lua), also when another flusher wrote the cancel entry first.
redis.call('HSET', purchaseKey, 'status', 'CANCELED', 'canceledAt', now, 'canceledBy', canceledBy, 'keptSeatIds', keptList,
  'canceledAmount', purchase[6] or '', 'canceledById', operatorId)
-- Kept until the cancellation is written to PostgreSQL; the flusher gives it a TTL then.
redis.call('PERSIST', purchaseKey)
-- What it gives back (the amount less the partial refunds made before), so whichever write reaches
-- PostgreSQL records it (`purchases.canceled_amount`), written or not are those partial refunds.
local entry = { 'type', 'cancel', 'purchaseId', purchaseId, 'userId', userId, 'canceledAt', now,
  'canceledBy', canceledBy, 'keptSeatIds', keptList, 'amount', purchase[6] or '' }
if operatorId ~= '' then
  entry[#entry + 1] = 'operatorId'
  entry[#entry + 1] = operatorId
end
redis.call('XADD', streamKey, '*', unpack(entry))
return keepRefundAnswer(requestKey, request, '', '',
  {'CANCELED', now, purchase[4] or '', keptList, purchase[6] or '', purchase[7] or '', purchase[8] or ''}, retention)
