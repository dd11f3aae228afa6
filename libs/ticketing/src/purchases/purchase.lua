--[[
  Turns the caller's live hold into a sale, in one atomic step: its seats become SOLD, the
  counters move from held to sold, the hold is marked PURCHASED (its record kept for
  `retention`), the purchase is recorded and appended to the performance's purchase stream,
  which `batch` writes to PostgreSQL. Redis TIME is the only clock. The purchase keeps the seat
  prices the hold recorded (`prices`, in `seats` order), what the buyer paid per seat; a hold
  made before holds recorded them gives a purchase without. A comp's hold (hold-comp-seats.lua: a
  `comp` note, every seat priced 0) is sold whatever the sales window (only a canceled or deleted
  performance refuses it), and its note travels into the purchase and its stream entry (`comp`), as
  do the house seats it took from their block (`fromBlock`, when any), which its cancel or refund
  (cancel-purchase.lua, refund-seats.lua) gives back to the block, and a guest comp's delivery
  address and name (`deliveryEmail`, `deliveryName`: a comp held under the operator's account for
  a guest without one; the venue's, as a box office sale is, so its seats count for no one).
  A box office sale's hold (hold-comp-seats.lua: `boxOffice`, the payment method taken at the
  window, and `ticketIds`) is sold from salesOpenAt on while ON_SALE or CLOSED by status, also
  after salesCloseAt (a canceled, paused or deleted performance refuses it), and both fields travel
  into the purchase and its stream entry alike, as do its delivery address and name when it has
  them (`deliveryEmail`, `deliveryName`: where its e-mails go).
  An operator's hold (a comp's or a box office sale's) is sold only on the operator path (ARGV[6]
  '1', CompService's and BoxOfficeService's), and only an operator's hold is sold there: to any
  other caller it is not found, so its owner cannot buy it as a sale without its audit row (an api
  that died between the hold and its purchase).

  Running it again with the purchase id that already bought the hold (a retried request with
  the same Idempotency-Key) changes nothing and answers the recorded purchase again, or CANCELED
  when it was canceled since.

  Only the purchase attempt that claimed the hold (claim-hold.lua: claimedBy, claimedUntil on the
  hold) sells it; another attempt's claim that has lapsed, or none, lets any attempt sell.

  KEYS[1] seats     hash seat id -> status letter (A available, H held, S sold)
  KEYS[2] counts    hash total, available, held, sold
  KEYS[3] expiry    sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[4] hold      hash of the hold
  KEYS[5] purchase  hash of the new purchase
  KEYS[6] stream    the performance's purchase stream
  KEYS[7] meta      hash of the performance: salesOpenAt, closed (the sales-closure include), status
                    (PAUSED, CLOSED or CANCELED; absent = ON_SALE), salesCloseAt (epoch ms); gone when the
                    performance was deleted
  KEYS[8] tickets   hash user id -> seats of the user's paid purchases not canceled: a new sale
          bought    adds its seats to the buyer's count (the ticket limit per buyer of the hold
                    scripts reads it); a box office sale or a guest comp (one with a delivery
                    address) adds none (the venue's, not the selling or issuing account's)
  KEYS[9] buyer's   optional, on a single Redis only: the buyer's index of purchases (sorted set
          index     '<performance id>:<purchase id>' by epoch ms; on a Redis Cluster it lies in the
                    buyer's slot and PurchaseStore.sell adds the entry beside this script). A new
                    sale adds ARGV[7] with its createdAt as score (NX: a replay keeps the first)

  ARGV[1] hold id
  ARGV[2] user id of the caller
  ARGV[3] purchase id
  ARGV[4] charge id (from the payment gateway); '' for a free hold (amount 0), which is never charged
  ARGV[5] how long the hold record stays readable from now (ms)
  ARGV[6] '1' on the operator path (CompService, BoxOfficeService: an operator's hold), '' for a
          buyer's purchase
  ARGV[7] with KEYS[9]: the sale's member of the buyer's index ('<performance id>:<purchase id>')

  Returns one of
    {'OK', createdAt (epoch ms), performance id, seats (comma-separated), amount (integer, minor units),
     currency (ISO 4217), prices (comma-separated, in `seats` order; '' when the hold has none),
     presale (the id of the presale whose access code let the hold in, decimal digits; '' for none)}
    {'NOT_FOUND'}    no such hold, or not the caller's, or an operator's hold off the operator
                     path (or a buyer's hold on it)
    {'PURCHASED'}    bought already, by another purchase
    {'CANCELED'}     bought by this purchase id, which was canceled since (a same-key retry)
    {'EXPIRED'} · {'RELEASED'}
    {'UNAVAILABLE'}  a seat of the hold is no longer held (sold by a rebuild from PostgreSQL)
    {'IN_PROGRESS'}  another purchase attempt holds a live claim on the hold
    {'SALES_CLOSED', reason} the performance is PAUSED, CLOSED (deleted, or closed by status) or
                     CANCELED (also: the hold was RELEASED by the cancellation, endReason
                     PERFORMANCE_CANCELED), or its sales ENDED at salesCloseAt (a replay of a done purchase still answers OK)
    {'SALES_NOT_OPEN', salesOpenAt (epoch ms)} salesOpenAt was moved past Redis TIME after the
                     hold was made (a replay of a done purchase still answers OK); never for a
                     presale's hold (its record's `presale`, hold-seats.lua)
]]
--- @keys variable
--- @include "redis-time"
--- @include "sales-closure"
local seatsKey, countsKey, expiryKey, holdKey, purchaseKey, streamKey, metaKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
-- The retention is passed on as sent: a number would be formatted again for the command.
local holdId, userId, purchaseId, chargeId, retention = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local hold = redis.call('HMGET', holdKey,
  'userId', 'status', 'expiresAt', 'seats', 'amount', 'currency', 'performanceId', 'purchaseId',
  'claimedBy', 'claimedUntil', 'prices', 'endReason', 'comp', 'boxOffice', 'ticketIds', 'deliveryEmail',
  'deliveryName', 'fromBlock', 'presale', 'presaleCounted')
if hold[1] ~= userId then return {'NOT_FOUND'} end
local status, seats, amount, currency, performanceId = hold[2], hold[4], hold[5], hold[6], hold[7]
local prices, comp, boxOffice, ticketIds = hold[11], hold[13], hold[14], hold[15]
if ((comp or boxOffice) and true or false) ~= (ARGV[6] == '1') then return {'NOT_FOUND'} end

if status == 'PURCHASED' then
  if hold[8] ~= purchaseId then return {'PURCHASED'} end
  local bought = redis.call('HMGET', purchaseKey, 'createdAt', 'status')
  -- Canceled since: a same-key retry is told so, never answered PAID.
  if bought[2] == 'CANCELED' then return {'CANCELED'} end
  return {'OK', bought[1], performanceId, seats, amount, currency, prices or '', hold[19] or ''}
end
-- Ended by its performance's cancellation (end-canceled-holds.lua): refused as a live hold of a
-- canceled performance is, even while the charge ran.
if status == 'RELEASED' and hold[12] == 'PERFORMANCE_CANCELED' then return {'SALES_CLOSED', 'CANCELED'} end
if status ~= 'HELD' then return {status} end
local meta = redis.call('HMGET', metaKey, 'salesOpenAt', 'closed', 'status', 'salesCloseAt')
local now = redisNow()
-- A lapsed lease counts as no closure: its closer died (the sales-closure include).
if not meta[1] or (meta[2] and closureStands(meta[2], now)) then return {'SALES_CLOSED', 'CLOSED'} end
if comp then
  -- A comp's hold is sold whatever the sales window; only a canceled performance refuses it.
  if meta[3] == 'CANCELED' then return {'SALES_CLOSED', 'CANCELED'} end
elseif boxOffice then
  -- A box office sale: from the on-sale on, whatever salesCloseAt or a CLOSED status say.
  if meta[3] == 'CANCELED' or meta[3] == 'PAUSED' then return {'SALES_CLOSED', meta[3]} end
  if now < tonumber(meta[1]) then return {'SALES_NOT_OPEN', meta[1]} end
else
  if meta[3] then return {'SALES_CLOSED', meta[3]} end
  if meta[4] and now >= tonumber(meta[4]) then return {'SALES_CLOSED', 'ENDED'} end
  -- A presale's hold (`presale`: its access code let it in before the on-sale) is sold then too,
  -- also when that presale was deleted since: the hold passed the check when it was made.
  if now < tonumber(meta[1]) and not hold[19] then return {'SALES_NOT_OPEN', meta[1]} end
end
-- Expired but not swept yet: the sweeper frees it; it can no longer be bought.
if tonumber(hold[3]) <= now then return {'EXPIRED'} end
if hold[9] and hold[9] ~= purchaseId and (tonumber(hold[10]) or 0) > now then return {'IN_PROGRESS'} end

local seatIds, soldFields = {}, {}
for seatId in string.gmatch(seats, '[^,]+') do
  if redis.call('HGET', seatsKey, seatId) ~= 'H' then return {'UNAVAILABLE'} end
  seatIds[#seatIds + 1] = seatId
  soldFields[#soldFields + 1] = seatId
  soldFields[#soldFields + 1] = 'S'
end
-- Numbers given to redis.call are formatted by snprintf('%.17g') each time (~3,000
-- instructions): the count and the time are made strings once (docs/performance.md, "Hot scripts").
local count, nowText = string.format('%d', #seatIds), string.format('%d', now)
redis.call('HSET', seatsKey, unpack(soldFields))
redis.call('HINCRBY', countsKey, 'held', '-' .. count)
redis.call('HINCRBY', countsKey, 'sold', count)

redis.call('HSET', holdKey, 'status', 'PURCHASED', 'purchaseId', purchaseId, 'endedAt', nowText)
redis.call('PEXPIRE', holdKey, retention)
redis.call('ZREM', expiryKey, holdId)

local record = {
  'id', purchaseId,
  'reservationId', holdId,
  'userId', userId,
  'performanceId', performanceId,
  'seats', seats,
  'amount', amount,
  'currency', currency,
  'chargeId', chargeId,
  'createdAt', nowText,
}
if prices then
  record[#record + 1] = 'prices'
  record[#record + 1] = prices
end
if comp then
  record[#record + 1] = 'comp'
  record[#record + 1] = comp
  -- The house seats it took from their block: a cancel or refund gives them back to it.
  if hold[18] and hold[18] ~= '' then
    record[#record + 1] = 'fromBlock'
    record[#record + 1] = hold[18]
  end
end
-- The presale whose access code let its hold in: the sales report counts presale sales by it.
if hold[19] then
  record[#record + 1] = 'presale'
  record[#record + 1] = hold[19]
end
if boxOffice then
  record[#record + 1] = 'boxOffice'
  record[#record + 1] = boxOffice
  record[#record + 1] = 'ticketIds'
  record[#record + 1] = ticketIds
end
-- Only an operator's hold has them (a walk-up's, a guest comp's guest): checked on the operator path above.
for i, field in ipairs({'deliveryEmail', 'deliveryName'}) do
  if hold[15 + i] then
    record[#record + 1] = field
    record[#record + 1] = hold[15 + i]
  end
end
redis.call('HSET', purchaseKey, 'status', 'PAID', unpack(record))
redis.call('XADD', streamKey, '*', 'type', 'purchase', unpack(record))
-- Its seats stay counted in the presale's allocation as its hold's were (not an older version's
-- hold's, never counted): a cancel or refund gives back only then (the presale-allocation include).
if hold[20] == '1' then redis.call('HSET', purchaseKey, 'presaleCounted', '1') end
-- The venue's (a box office sale, a guest comp): not the owning operator's tickets.
if not (boxOffice or hold[16]) then redis.call('HINCRBY', KEYS[8], userId, count) end
if KEYS[9] then redis.call('ZADD', KEYS[9], 'NX', nowText, ARGV[7]) end
return {'OK', now, performanceId, seats, amount, currency, prices or '', hold[19] or ''}
