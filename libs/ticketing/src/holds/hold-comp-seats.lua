--[[
  Holds all the requested seats of one performance for an operator's sale, or none of them: the
  hold step of a comp (complimentary tickets an operator issues to a recipient) and of a box
  office sale (walk-up tickets sold at the window by a staff or admin account, paid there in cash
  or on the card terminal), which the owner's purchase (purchase.lua, as for any hold) then
  sells. Redis TIME is the only clock.

  What differs from hold-seats.lua (a buyer's hold), on purpose:
    - the sales window: a comp may be held before salesOpenAt, while PAUSED or CLOSED by status,
      and after salesCloseAt; a box office sale from salesOpenAt on (the on-sale is the same for
      the window and online), while ON_SALE or CLOSED by status (online sales closed: tickets at
      the door) and after salesCloseAt, not while PAUSED (a pause stops every sale: a price or
      seat-map mistake is being fixed). Either is refused for a performance being deleted
      (closed) or CANCELED. That the performance is still before its door closes (box office) or
      has not started (comp) is checked by the caller, which reads the start from PostgreSQL;
    - no per-user seat limit, no maxTicketsPerBuyer, no noOrphanSeats rule: an operator's
      deliberate, audited act, not a buyer's;
    - a comp's seats are priced 0 (free whatever the section costs) and its record keeps the
      operator's note (`comp`); a box office sale's seats are priced as the section prices them now
      and its record keeps the payment method (`boxOffice`) the ticket ids taken ahead for its
      seats (`ticketIds`); either keeps where its e-mails go (`deliveryEmail`, `deliveryName`, when
      given: a walk-up's, or a guest comp's guest, held under the operator's account: no account of
      their own); purchase.lua carries them into the sale;
    - the hold does not end at salesCloseAt (it lives its lifetime: it is bought at once);
    - the hold is not listed among the owner's holds (the user-holds hash, the user's index of
      performances with holds): it is the operator path's alone (only CompService's and
      BoxOfficeService's purchase and release scripts, with their operator flag, see it), so the
      comp's recipient (or the selling account) never sees, buys or releases it through the buyer's
      routes, and its seats do not count against the owner's per-user hold limit. Left unbought
      (the api died between the hold and the purchase), it expires as any hold does.
  With ARGV[8] '1' (an operator's comp that may take house seats: includeBlocked, CompService
  under the performance's row lock, which deletes their seat_blocks rows in the same transaction),
  a BLOCKED seat is taken as an available one is, in this same run (no buyer can take it between
  its block and the comp): letter B -> H, counts blocked -> held; the record keeps those seats
  (`fromBlock`), so that release-hold.lua on the operator path puts them back to B should the
  comp's purchase fail, and every expiry (expire-holds.lua, a hold ending it as below,
  hold-best-available.lua, end-canceled-holds.lua) puts them back to B too: their seat_blocks rows
  are deleted only in the transaction that commits after the sale.
  A requested seat that is such a house seat of an expired comp hold (still H, the hold not ended
  yet) is taken from the block with ARGV[8] (it is in the reply's list of seats taken from blocked
  ones), and without it refuses the request (UNAVAILABLE) after that hold is ended here (its house
  seats blocked again), as hold-seats.lua refuses it.
  What is the same: all seats or none; a seat held by a live hold, sold or blocked (without
  ARGV[8]) refuses the whole request; a seat held by an expired hold counts as free and its hold is ended here as
  hold-seats.lua ends it (END_HOLDS when its record was not passed).

  KEYS[1..13+] as hold-seats.lua (holdScriptKeys) without the user's index: meta, seats, prices
  (read for a box office sale), counts, expiry, user holds (the owner's: only the user id is read
  from this key, the hold is not added to it), hold (the hold id is read from this key), seat
  holds, the four seating keys, tickets bought (not read), then the records of the expired holds
  ARGV names.

  ARGV[1] hold lifetime (ms)
  ARGV[2] how long a hold record stays readable after it expires (ms)
  ARGV[3] the kind: 'COMP' or 'BOX_OFFICE'
  ARGV[4] a comp's note (non-empty), or a box office sale's payment method (CASH, CARD_TERMINAL)
  ARGV[5] a box office sale's ticket ids, comma-separated in the order of the seat ids; '' for a comp
  ARGV[6] the delivery address for its e-mails ('' : none, the owner's): a box office sale's
          walk-up's, or a guest comp's guest's (the comp held under the operator's account)
  ARGV[7] the delivery name ('' : none)
  ARGV[8] '1': blocked seats may be taken (a comp's includeBlocked, above); '' they refuse the request
  ARGV[9..8+n] ids of the expired holds whose records follow the fixed keys (n = their number)
  ARGV[9+n..] seat ids (distinct)

  Returns one of
    {'OK', expiresAt (epoch ms), amount, currency (ISO 4217), prices (comma-separated, seat order),
     seats taken from blocked ones (comma-separated, in request order; '' for none)}
    {'NO_PERFORMANCE'}   not registered
    {'UNKNOWN_SEATS', seat id, ...}
    {'SALES_CLOSED', reason}  CANCELED (status), CLOSED (a delete is under way), or PAUSED (status;
                              a box office sale only)
    {'SALES_NOT_OPEN', salesOpenAt (epoch ms)}  a box office sale before the on-sale
    {'UNAVAILABLE', seat id, ...}  held by a live hold, sold, or blocked (without ARGV[8]; also a
                                   house seat of an expired comp hold, that hold ended here)
    {'END_HOLDS', hold id, ...}  expired holds on requested seats whose records were not passed
]]
--- @keys variable
--- @include "redis-time"
--- @include "free-seats"
--- @include "seating"
--- @include "hold-taking"
--- @include "sales-closure"
local metaKey, seatsKey, pricesKey, countsKey, expiryKey, userHoldsKey, holdKey, seatHoldsKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local seating = { free = KEYS[9], layout = KEYS[10], runs = KEYS[11], info = KEYS[12] }
local holdId = string.match(holdKey, ':hold:([^:]+)$')
local userId = string.match(userHoldsKey, ':user:([^:]+):holds$')
local performanceId = string.match(metaKey, '{perf:(%d+)}:meta$')
local lifetime, retention = tonumber(ARGV[1]), tonumber(ARGV[2])
local boxOffice = ARGV[3] == 'BOX_OFFICE'
local note = not boxOffice and ARGV[4] or nil
local paymentMethod = boxOffice and ARGV[4] or nil
local ticketIds = boxOffice and ARGV[5] or nil
local deliveryEmail = ARGV[6] ~= '' and ARGV[6] or nil
local deliveryName = ARGV[7] ~= '' and ARGV[7] or nil
local takeBlocked = ARGV[8] == '1'
local fixedKeys = 13
local passedHoldKeys = {}
local passedCount = #KEYS - fixedKeys
for i = 1, passedCount do passedHoldKeys[ARGV[8 + i]] = KEYS[fixedKeys + i] end
local seatIds = {}
for i = 9 + passedCount, #ARGV do seatIds[#seatIds + 1] = ARGV[i] end

local meta = redis.call('HMGET', metaKey, 'salesOpenAt', 'currency', 'closed', 'status')
local currency = meta[2]
if not meta[1] or not currency then return {'NO_PERFORMANCE'} end
local now = redisNow()
-- A lapsed lease counts as no closure (the sales-closure include).
if meta[3] and closureStands(meta[3], now) then return {'SALES_CLOSED', 'CLOSED'} end
if meta[4] == 'CANCELED' then return {'SALES_CLOSED', 'CANCELED'} end
if boxOffice then
  if meta[4] == 'PAUSED' then return {'SALES_CLOSED', 'PAUSED'} end
  if now < tonumber(meta[1]) then return {'SALES_NOT_OPEN', meta[1]} end
end

local statuses = redis.call('HMGET', seatsKey, unpack(seatIds))
local unknown = {}
for i = 1, #seatIds do
  if not statuses[i] then unknown[#unknown + 1] = seatIds[i] end
end
if #unknown > 0 then return {'UNKNOWN_SEATS', unpack(unknown)} end

-- House seats the comp may take count as available for the checks below.
local fromBlock = {}
if takeBlocked then
  for i = 1, #seatIds do
    if statuses[i] == 'B' then
      fromBlock[#fromBlock + 1] = seatIds[i]
      statuses[i] = 'A'
    end
  end
end
-- As hold-seats.lua: a held seat whose hold has expired is free, and that hold is ended here.
local refusal, ending, house = seatsToTake(seatIds, statuses, seatHoldsKey, passedHoldKeys, now)
if refusal then return refusal end
local ends = {
  seats = seatsKey, counts = countsKey, expiry = expiryKey, seatHolds = seatHoldsKey, seating = seating,
  holds = passedHoldKeys, meta = metaKey,
}
endExpiredHolds(ends, ending, now)
if house and not takeBlocked then return {'UNAVAILABLE', unpack(house)} end
if house then
  -- Blocked again by the hold's end just above: taken from the block as the others (request order).
  local isHouse = {}
  for _, seatId in ipairs(house) do isHouse[seatId] = true end
  for _, seatId in ipairs(fromBlock) do isHouse[seatId] = true end
  fromBlock = {}
  for i = 1, #seatIds do
    if isHouse[seatIds[i]] then fromBlock[#fromBlock + 1] = seatIds[i] end
  end
end

local taking = {
  seats = seatsKey, prices = pricesKey, counts = countsKey, expiry = expiryKey,
  hold = holdKey, seatHolds = seatHoldsKey, seating = seating,
}
local expiresAt, amount, prices = takeHold(taking, {
  id = holdId, userId = userId, performanceId = performanceId, seatIds = seatIds, currency = currency,
  now = now, lifetime = lifetime, retention = retention, comp = note,
  boxOffice = paymentMethod, ticketIds = ticketIds, deliveryEmail = deliveryEmail, deliveryName = deliveryName,
})
local fromBlockList = table.concat(fromBlock, ',')
if #fromBlock > 0 then
  -- takeHold counted them as available seats taken: they were blocked ones (their free bits were
  -- clear already, as seatingMarkTaken leaves them).
  redis.call('HINCRBY', countsKey, 'available', #fromBlock)
  redis.call('HINCRBY', countsKey, 'blocked', -#fromBlock)
  redis.call('HSET', holdKey, 'fromBlock', fromBlockList)
end
return {'OK', expiresAt, amount, currency, prices, fromBlockList}
