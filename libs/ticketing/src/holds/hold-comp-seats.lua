--[[
  Holds all the requested seats of one performance for a comp (complimentary tickets an operator
  issues to a recipient), or none of them: the hold step of a comp, which the recipient's purchase
  (purchase.lua, as for any hold) then sells. Redis TIME is the only clock.

  What differs from hold-seats.lua (a buyer's hold), on purpose:
    - the sales window does not apply: a comp may be held before salesOpenAt, while PAUSED or
      CLOSED by status, and after salesCloseAt; only a performance being deleted (closed) or
      CANCELED refuses it (a performance that has started is refused by the caller, CompService,
      which reads its start from PostgreSQL);
    - no per-user seat limit, no maxTicketsPerBuyer, no noOrphanSeats rule: an operator's
      deliberate, audited act, not a buyer's;
    - every seat is priced 0 (the purchase is free whatever the section costs), and the hold record
      keeps the operator's note (`comp`), which purchase.lua carries into the sale;
    - the hold does not end at salesCloseAt (it lives its lifetime: it is bought at once);
    - the hold is not listed among the recipient's holds (the user-holds hash, the user's index of
      performances with holds): it is the comp path's alone (only CompService's purchase and
      release scripts, with their comp flag, see it), so the recipient never sees, buys or
      releases it, and its seats do not count against the recipient's per-user hold limit. Left
      unbought (the api died between the hold and the purchase), it expires as any hold does.
  With ARGV[4] '1' (an operator's comp that may take house seats: includeBlocked, CompService
  under the performance's row lock, which deletes their seat_blocks rows in the same transaction),
  a BLOCKED seat is taken as an available one is, in this same run (no buyer can take it between
  its block and the comp): letter B -> H, counts blocked -> held; the record keeps those seats
  (`fromBlock`), so that release-hold.lua on the comp path puts them back to B should the comp's
  purchase fail.
  What is the same: all seats or none; a seat held by a live hold, sold or blocked (without
  ARGV[4]) refuses the whole request; a seat held by an expired hold counts as free and its hold is ended here as
  hold-seats.lua ends it (END_HOLDS when its record was not passed).

  KEYS[1..13+] as hold-seats.lua (holdScriptKeys) without the user's index: meta, seats, prices
  (not read: a comp is free), counts, expiry, user holds (the recipient's: only the user id is read
  from this key, the hold is not added to it), hold (the hold id is read from this key), seat
  holds, the four seating keys, tickets bought (not read), then the records of the expired holds
  ARGV names.

  ARGV[1] hold lifetime (ms)
  ARGV[2] how long a hold record stays readable after it expires (ms)
  ARGV[3] the operator's note (non-empty)
  ARGV[4] '1': blocked seats may be taken (above); '' they refuse the request
  ARGV[5..4+n] ids of the expired holds whose records follow the fixed keys (n = their number)
  ARGV[5+n..] seat ids (distinct)

  Returns one of
    {'OK', expiresAt (epoch ms), amount (0), currency (ISO 4217), prices ('0,0,…'),
     seats taken from blocked ones (comma-separated, in request order; '' for none)}
    {'NO_PERFORMANCE'}   not registered
    {'UNKNOWN_SEATS', seat id, ...}
    {'SALES_CLOSED', reason}  CANCELED (status), or CLOSED (a delete is under way)
    {'UNAVAILABLE', seat id, ...}  held by a live hold, sold, or blocked (without ARGV[4])
    {'END_HOLDS', hold id, ...}  expired holds on requested seats whose records were not passed
]]
--- @keys variable
--- @include "redis-time"
--- @include "free-seats"
--- @include "seating"
--- @include "hold-taking"
local metaKey, seatsKey, pricesKey, countsKey, expiryKey, userHoldsKey, holdKey, seatHoldsKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local seating = { free = KEYS[9], layout = KEYS[10], runs = KEYS[11], info = KEYS[12] }
local holdId = string.match(holdKey, ':hold:([^:]+)$')
local userId = string.match(userHoldsKey, ':user:([^:]+):holds$')
local performanceId = string.match(metaKey, '{perf:(%d+)}:meta$')
local lifetime, retention = tonumber(ARGV[1]), tonumber(ARGV[2])
local note = ARGV[3]
local takeBlocked = ARGV[4] == '1'
local fixedKeys = 13
local passedHoldKeys = {}
local passedCount = #KEYS - fixedKeys
for i = 1, passedCount do passedHoldKeys[ARGV[4 + i]] = KEYS[fixedKeys + i] end
local seatIds = {}
for i = 5 + passedCount, #ARGV do seatIds[#seatIds + 1] = ARGV[i] end

local meta = redis.call('HMGET', metaKey, 'salesOpenAt', 'currency', 'closed', 'status')
local currency = meta[2]
if not meta[1] or not currency then return {'NO_PERFORMANCE'} end
if meta[3] then return {'SALES_CLOSED', 'CLOSED'} end
if meta[4] == 'CANCELED' then return {'SALES_CLOSED', 'CANCELED'} end

local statuses = redis.call('HMGET', seatsKey, unpack(seatIds))
local unknown = {}
for i = 1, #seatIds do
  if not statuses[i] then unknown[#unknown + 1] = seatIds[i] end
end
if #unknown > 0 then return {'UNKNOWN_SEATS', unpack(unknown)} end

local now = redisNow()
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
local refusal, ending = seatsToTake(seatIds, statuses, seatHoldsKey, passedHoldKeys, now)
if refusal then return refusal end
endExpiredHolds({
  seats = seatsKey, counts = countsKey, expiry = expiryKey, seatHolds = seatHoldsKey, seating = seating,
  holds = passedHoldKeys,
}, ending, now)

local taking = {
  seats = seatsKey, prices = pricesKey, counts = countsKey, expiry = expiryKey,
  hold = holdKey, seatHolds = seatHoldsKey, seating = seating,
}
local expiresAt, amount, prices = takeHold(taking, {
  id = holdId, userId = userId, performanceId = performanceId, seatIds = seatIds, currency = currency,
  now = now, lifetime = lifetime, retention = retention, comp = note,
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
