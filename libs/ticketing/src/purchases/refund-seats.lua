--[[
  An operator's refund of some seats of a paid purchase (a partial refund): the named seats go back
  on sale (checked-in ones stay sold when the operator keeps them; a comp's house seats, its
  `fromBlock`, go back to BLOCKED, as cancel-purchase.lua gives them back), their prices are taken
  off the purchase's amount, and the refund is appended to the performance's purchase stream (type
  'refund'), so `batch` writes it to PostgreSQL and the payment reconciler gives its money back if
  the api does not. A presale purchase's (its `presale`) refunded seats go back to that presale's
  allocation, in the meta hash (the presale-allocation include). The purchase stays PAID with its other seats. Naming every seat it still has is
  its whole refund: done exactly as cancel-purchase.lua cancels it (status CANCELED, a 'cancel'
  entry with what it gives back, `amount`), so the cancel's flush, notice and refund follow. Of two refunds of a seat (any two scripts
  of the purchase) Redis runs one first: the second finds the seat refunded. Redis TIME is the only clock.

  When the purchase record is no longer in Redis (written to PostgreSQL long ago), the caller
  passes the record read from PostgreSQL; a refund that goes through puts it back first, a refused
  one leaves nothing behind.

  KEYS: those of cancel-purchase.lua, in its order:
  KEYS[1] seats  KEYS[2] counts  KEYS[3] purchase  KEYS[4] stream  KEYS[5] meta  KEYS[6] checked-in
  KEYS[7..10] seating (free, layout, runs, seat info)  KEYS[11] tickets bought  KEYS[12] transferred
  (not read: an operator's refund of a transferred ticket is the box office's call)  KEYS[13] undone
  KEYS[14] optional: the operator's Idempotency-Key record (lua-includes/refund-request.lua)

  ARGV[1] purchase id
  ARGV[2] user id of the purchase's buyer
  ARGV[3] 'operator' (a checked-in seat named refuses the refund) or 'operator-keep-checked-in'
          (checked-in seats named stay sold)
  ARGV[4] seats known checked in from PostgreSQL, as cancel-purchase.lua's ARGV[4]
  ARGV[5] the refund's id (a uuid the caller chose; the stream entry and PostgreSQL's row carry it)
  ARGV[6] the seat ids to refund, comma-separated, none repeated, at least one
  ARGV[7] '1' when PostgreSQL has the purchase (flushed): a partial refund of one it has not is
          refused ('NOT_WRITTEN'), so each partial refund's write finds its purchase's tickets
  ARGV[8] with KEYS[14]: what the refund asks for (refund-request.lua's `request`), else ''
  ARGV[9] with KEYS[14]: how long the key's record is kept, ms, else ''
  ARGV[10] the operator's account id (who gives the money back): on the stream entry (`operatorId`
           of the 'refund' entry, or of the 'cancel' entry of a whole refund), so the write of the
           refund records who made it (`purchase_refunds.refunded_by_id`, `purchases.canceled_by_id`)
  ARGV[11..] optional: the persisted record as field, value pairs (used only when KEYS[3] is missing)

  Returns one of
    {'REPLAY', refund id, seat ids, the first answer's fields ...}  the key's refund made before
                                                   (refund-request.lua): nothing changed now
    {'KEY_REUSED'}          the key was used for another request: nothing changed
    {'REFUNDED', refundedAt (epoch ms), charge id ('' when none), seat ids kept sold (comma-separated),
     amount refunded (minor units), currency, box office payment method ('' for an online sale)}
                                                   a partial refund: the purchase stays PAID (a box
                                                   office sale's money goes back at the window, never
                                                   through the gateway)
    {'CANCELED', canceledAt, charge id, kept seat ids, amount, currency, box office payment method}
                                                   the seats named were all it had: canceled as
                                                   cancel-purchase.lua answers it
    {'NOT_FOUND'}           no such purchase, not the buyer's, or parked by the flusher
    {'ALREADY_CANCELED'}
    {'ALREADY_REFUNDED', seat id}  a seat named was refunded before
    {'NOT_IN_PURCHASE', seat id}   a seat named is not the purchase's
    {'CHECKED_IN', seat ids}       refused ('operator'): seats named were checked in
    {'NO_PRICES'}           refused: the purchase's seat prices were not recorded (a hold made before
                            holds kept them), so a seat's share of the charge is unknown: refund it whole
    {'NOT_WRITTEN', createdAt (epoch ms, '' when unknown), now (epoch ms)}
                            refused: a partial refund of a purchase PostgreSQL does not have yet; its
                            sale's time and Redis TIME tell the caller when its flush is due
    {'NOT_REGISTERED'}      Redis does not hold the performance's live state: nothing written; the
                            caller rebuilds it from PostgreSQL and asks again
]]
--- @keys variable
--- @include "redis-time"
--- @include "free-seats"
--- @include "refund-request"
--- @include "presale-allocation"
local seatsKey, countsKey, purchaseKey, streamKey, metaKey, checkedInKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local seating = { free = KEYS[7], layout = KEYS[8], runs = KEYS[9], info = KEYS[10] }
local purchaseId, userId, mode, knownCheckedIn, refundId, named, flushed =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local requestKey, request, retention = KEYS[14], ARGV[8], tonumber(ARGV[9])
local operatorId = ARGV[10]

local answered = refundAnsweredBefore(requestKey, request)
if answered then return answered end
if not redis.call('HGET', metaKey, 'currency') then return {'NOT_REGISTERED'} end
local now = redisNow()

local checkedIn = {}
for _, mark in ipairs(redis.call('SMEMBERS', checkedInKey)) do checkedIn[string.match(mark, '^[^:]+')] = true end
for entry in string.gmatch(knownCheckedIn, '[^,]+') do
  if redis.call('SISMEMBER', KEYS[13], entry) == 0 then checkedIn[string.match(entry, '^[^/]+')] = true end
end

local fields = { 'userId', 'status', 'seats', 'chargeId', 'parkedAt', 'amount', 'currency', 'prices', 'refundedSeats',
  'refundedAmount', 'boxOffice', 'createdAt', 'fromBlock', 'deliveryEmail', 'presale', 'presaleCounted' }
-- The persisted record is read from ARGV and put back only by a refund that goes through: a refused
-- one leaves no record behind (nor one without a TTL), as cancel-purchase.lua.
local persisted, purchase = nil, nil
if redis.call('EXISTS', purchaseKey) == 0 and #ARGV > 10 then
  persisted = {}
  local record = {}
  for i = 11, #ARGV do persisted[#persisted + 1] = ARGV[i] end
  for i = 11, #ARGV - 1, 2 do record[ARGV[i]] = ARGV[i + 1] end
  -- A sale PostgreSQL has counts in its presale's allocation (a rebuild counts every one).
  if record.presale then
    record.presaleCounted = '1'
    persisted[#persisted + 1] = 'presaleCounted'
    persisted[#persisted + 1] = '1'
  end
  purchase = {}
  for i, field in ipairs(fields) do purchase[i] = record[field] or false end
else
  purchase = redis.call('HMGET', purchaseKey, unpack(fields))
end
local function restore()
  if persisted then redis.call('HSET', purchaseKey, unpack(persisted)) end
end
if purchase[1] ~= userId or purchase[5] then return {'NOT_FOUND'} end
if purchase[2] == 'CANCELED' then return {'ALREADY_CANCELED'} end

-- The seats it still has, with their prices (absent for a hold made before holds recorded them).
local remaining, priceOf, remainingCount = {}, {}, 0
local priceList = {}
for price in string.gmatch(purchase[8] or '', '[^,]+') do priceList[#priceList + 1] = tonumber(price) end
local position = 0
for seatId in string.gmatch(purchase[3], '[^,]+') do
  position = position + 1
  remaining[seatId] = true
  priceOf[seatId] = priceList[position]
  remainingCount = remainingCount + 1
end
local refundedBefore = {}
for seatId in string.gmatch(purchase[9] or '', '[^,]+') do refundedBefore[seatId] = true end

local seats, namedCount, checkedInNamed = {}, 0, {}
for seatId in string.gmatch(named, '[^,]+') do
  if not remaining[seatId] then
    return { refundedBefore[seatId] and 'ALREADY_REFUNDED' or 'NOT_IN_PURCHASE', seatId }
  end
  namedCount = namedCount + 1
  seats[namedCount] = seatId
  if checkedIn[seatId] then checkedInNamed[#checkedInNamed + 1] = seatId end
end
if #checkedInNamed > 0 and mode ~= 'operator-keep-checked-in' then
  return {'CHECKED_IN', table.concat(checkedInNamed, ',')}
end
-- The refunded seats leave the buyer's tickets bought, never below 0; a box office sale's or a guest
-- comp's (a delivery address) were never in the owning operator's count (purchase.lua).
local function uncount()
  -- The refunded seats go back to the purchase's presale's allocation (the kept ones too, as cancel-purchase.lua).
  presaleGiveBack(metaKey, purchase[15], purchase[16], namedCount)
  if purchase[11] or purchase[14] then return end
  if redis.call('HINCRBY', KEYS[11], userId, -namedCount) <= 0 then redis.call('HDEL', KEYS[11], userId) end
end

local toFree, kept = {}, {}
for _, seatId in ipairs(seats) do
  if checkedIn[seatId] then kept[#kept + 1] = seatId else toFree[#toFree + 1] = seatId end
end
local keptList = table.concat(kept, ',')

if namedCount == remainingCount then
  -- Every seat it still has: its whole refund, as cancel-purchase.lua does it for an operator.
  restore()
  blockSoldSeats(seatsKey, countsKey, houseSeatsAmong(purchase[13], toFree))
  freeSeats(seatsKey, countsKey, table.concat(toFree, ','), 'sold', seating)
  uncount()
  redis.call('HSET', purchaseKey, 'status', 'CANCELED', 'canceledAt', now, 'canceledBy', 'operator',
    'keptSeatIds', keptList)
  redis.call('PERSIST', purchaseKey)
  redis.call('XADD', streamKey, '*', 'type', 'cancel', 'purchaseId', purchaseId, 'userId', userId, 'canceledAt', now,
    'canceledBy', 'operator', 'keptSeatIds', keptList, 'amount', purchase[6] or '', 'operatorId', operatorId)
  return keepRefundAnswer(requestKey, request, refundId, named,
    {'CANCELED', now, purchase[4] or '', keptList, purchase[6] or '', purchase[7] or '', purchase[11] or ''}, retention)
end

if #priceList ~= remainingCount then return {'NO_PRICES'} end
if flushed ~= '1' then return {'NOT_WRITTEN', purchase[12] or '', now} end

local amount = 0
local refunding = {}
for _, seatId in ipairs(seats) do
  amount = amount + priceOf[seatId]
  refunding[seatId] = true
end
local keepSeats, keepPrices = {}, {}
position = 0
for seatId in string.gmatch(purchase[3], '[^,]+') do
  position = position + 1
  if not refunding[seatId] then
    keepSeats[#keepSeats + 1] = seatId
    keepPrices[#keepPrices + 1] = priceList[position]
  end
end
local refundedSeats = purchase[9] and purchase[9] ~= '' and (purchase[9] .. ',' .. named) or named

restore()
blockSoldSeats(seatsKey, countsKey, houseSeatsAmong(purchase[13], toFree))
freeSeats(seatsKey, countsKey, table.concat(toFree, ','), 'sold', seating)
uncount()
redis.call('HSET', purchaseKey, 'seats', table.concat(keepSeats, ','), 'prices', table.concat(keepPrices, ','),
  'amount', tonumber(purchase[6]) - amount, 'refundedSeats', refundedSeats,
  'refundedAmount', (tonumber(purchase[10]) or 0) + amount)
-- Kept until the refund is written to PostgreSQL; the flusher gives it a TTL then.
redis.call('PERSIST', purchaseKey)
redis.call('XADD', streamKey, '*', 'type', 'refund', 'purchaseId', purchaseId, 'userId', userId, 'refundId', refundId,
  'seats', named, 'keptSeatIds', keptList, 'amount', amount, 'currency', purchase[7] or '',
  'chargeId', purchase[4] or '', 'refundedAt', now, 'operatorId', operatorId)
return keepRefundAnswer(requestKey, request, refundId, named,
  {'REFUNDED', now, purchase[4] or '', keptList, amount, purchase[7] or '', purchase[11] or ''}, retention)
