--[[
  Holds all the requested seats of one performance for one user, or none of them.
  Redis TIME is the only clock.

  A requested seat still marked held by a hold that has expired counts as free: the expired
  hold is ended here (status EXPIRED, out of the expiry index, all its seats freed, counts
  moved) exactly as expire-holds.lua would, so expiry needs no sweeper for seats somebody asks
  for. Ending a hold touches its record, which must come in KEYS: when an expired holder's
  record was not passed, nothing changes and the script answers END_HOLDS with the hold ids
  to pass on the next call. The house seats of such a hold (an operator's comp that took them
  out of their block, the record's `fromBlock`, and was never bought: the api died between its
  hold and its purchase) go back to BLOCKED when it ends, not on sale: a request for one of them
  ends the expired hold (its house seats blocked again, its other seats freed) and is refused
  (UNAVAILABLE naming them); that is the one refusal that changes something.

  KEYS[1] meta        hash: salesOpenAt (epoch ms), currency (ISO 4217), presales and their
                      allocations (presale:<id>, presale-max:<id>, presale-taken:<id>: the
                      hold-taking and presale-allocation includes; a presale hold counts its seats
                      there, an expired hold ended here gives its back), closed (closers' entries
                      while closed to sales: the sales-closure include; a lapsed lease counts as
                      absent), status (PAUSED, CLOSED or CANCELED; absent = ON_SALE), salesCloseAt
                      (epoch ms; absent = none), noOrphanSeats (1 = refuse a selection that leaves a
                      single free seat), maxTicketsPerBuyer (seats a buyer may hold and have
                      bought at once; absent = no such limit); missing = performance not registered
  KEYS[2] seats       hash seat id -> status letter (A available, H held, S sold, B blocked)
  KEYS[3] prices      hash seat id -> price (integer, minor units of the currency)
  KEYS[4] counts      hash total, available, held, sold, blocked
  KEYS[5] expiry      sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[6] user holds  hash hold id -> seat count, of this user's holds that may still be live;
                      the user id is read from this key ('<prefix>{perf:<id>}:user:<user id>:holds')
  KEYS[7] hold        hash of the new hold; the hold id is read from this key
                      ('<prefix>{perf:<id>}:hold:<hold id>'), the performance id from KEYS[1]'s tag
  KEYS[8] seat holds  hash seat id -> '<expiresAt (epoch ms)>:<hold id>' of the hold that took
                      it last; meaningful only while the seat is H
  KEYS[9] free        best-available data (the seating include): free-seat bitmap (read by the
                      noOrphanSeats rule),
  KEYS[10] seating    static layout hash ('ready': the data's format, read by the noOrphanSeats rule),
  KEYS[11] runs       34-byte slot per row and section (longest free run, best free quality, best
                      clean windows of 2…8 seats, best free accessible quality),
  KEYS[12] seat info  static seat ids, qualities and flags; the bitmap is kept up to date here,
                      the rows' slots left to the next best-available search (their rows listed
                      in KEYS[10]'s 'dirty', seatingMarkTaken), expired holds' rows refreshed here
  KEYS[13] tickets    hash user id -> seats of the user's paid purchases not canceled (read
           bought     only when the performance has maxTicketsPerBuyer)
  KEYS[14]            the user's index of performances with holds (sorted set: performance id by
                      epoch ms), only when ARGV[5] is not '' (a single Redis; on a Redis Cluster it
                      lies in the user's slot and HoldStore writes it with index-hold.lua)
  KEYS[14+i]          only with an Idempotency-Key: its record '{perf:<id>}:hold-request:<user
                      id>:<key digest>' (hash: the request, the hold it made and that hold's first
                      answer; the hold-taking include), told apart from the hold records below by
                      its name; i = 1 with the index key, else 0
  KEYS[14+i+j]        only with an access code: the user's count of wrong codes '{perf:<id>}:
                      presale-misses:<user id>' (the hold-taking include), told apart by its name;
                      j = 1 with the Idempotency-Key record, else 0
  KEYS[14+i+j+m..13+i+j+m+n]  hashes of expired holds to end, the holds named in ARGV[6..5+n];
                      m = 1 with the count of wrong codes, else 0

  ARGV[1] hold lifetime (ms)
  ARGV[2] most seats one user may hold on this performance across live holds
  ARGV[3] how long a hold record stays readable after it expires (ms)
  ARGV[4] the seating data's format the noOrphanSeats rule reads (SEATING_FORMAT): KEYS[10]'s
          'ready' must equal it
  ARGV[5] '' or, with the index key KEYS[14], until when its entry counts (epoch ms): written
          with the hold (ZADD GT, PEXPIREAT), only when it is made
  ARGV[6..5+n] ids of the expired holds whose records follow the fixed keys (n = their number)
  ARGV[6+n..] seat ids (distinct)
  ARGV[#ARGV]  only with an access code: 'code:<digest>:<miss limit>:<window ms>' (the
               hold-taking include's accessCodeArg), after the seat ids

  Returns one of
    {'OK', expiresAt (epoch ms: now + the hold's lifetime, or salesCloseAt if sooner),
     amount (integer, minor units), currency (ISO 4217),
     prices (each seat's, comma-separated, in the order of the seat ids asked for)}
    {'NO_PERFORMANCE'}   not registered (or registered before it had a currency)
    {'UNKNOWN_SEATS', seat id, ...}
    {'SALES_NOT_OPEN', salesOpenAt (epoch ms)}  before salesOpenAt, no presale open (presaleRefusal)
    {'PRESALE_CODE_REQUIRED', salesOpenAt, presale id, name, ...}  a presale is open: send its code
    {'PRESALE_NOT_NOW', presale id, opensAt, closesAt, 'UPCOMING' | 'OVER', name}  a presale is open and the code sent is
                         that of another presale, not open now (not counted as a miss); nothing held
    {'ACCESS_CODE_INVALID'}  a presale is open and the code sent is none of its (theirs); nothing held
    {'PRESALE_EXHAUSTED', presale id, maxSeats, seats taken, name}  the presale whose code let the hold in
                         has not the seats asked for left of its allocation (the presale-allocation
                         include); nothing held
    {'ACCESS_CODE_ATTEMPTS', ms left}  a code was sent before salesOpenAt and the user's wrong codes
                         reached the limit (presaleRefusal); the code is not checked, nothing held
    {'SALES_CLOSED', reason}  refused: reason PAUSED, CLOSED or CANCELED (status, or CLOSED by a delete),
                         or ENDED (Redis TIME at or past salesCloseAt)
    {'UNAVAILABLE', seat id, ...}  held by a live hold, sold, blocked, or a house seat of an expired
                         comp hold (that hold ended here, above)
    {'LIMIT', seats the user already holds}
    {'TICKET_LIMIT', maxTicketsPerBuyer, seats the user bought, seats the user holds}
    {'END_HOLDS', hold id, ...}  expired holds on requested seats whose records were not passed
    {'SINGLE_LEFT', seat id, single seat id}  refused by noOrphanSeats: the selection leaves the
                         single free seat (the second id) beside this seat of it (the first)
    {'NO_LAYOUT'}        refused by noOrphanSeats: no seating data of this format to check it on
                         (build it, call again)
    {'REPLAY', hold id, expiresAt, amount, currency, prices, seat ids, ''}  with an Idempotency-Key
                         that made a hold of these seats (in any order) before: that hold's first
                         answer (answeredBefore), checked before anything else; nothing held
    {'KEY_REUSED'}       with an Idempotency-Key whose hold was of other seats; nothing held
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
-- The ids are read from the keys that carry them rather than sent again in ARGV: each costs the
-- api a bulk string a call (docs/performance.md, "Hold route: the estimated cuts").
local holdId = string.match(holdKey, ':hold:([^:]+)$')
local userId = string.match(userHoldsKey, ':user:([^:]+):holds$')
local performanceId = string.match(metaKey, '{perf:(%d+)}:meta$')
local lifetime, userLimit, retention = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local seatingFormat = ARGV[4]
local indexUntil = ARGV[5] ~= '' and ARGV[5] or nil
local fixedKeys = indexUntil and 14 or 13
local recordKey = requestRecordKey(KEYS, fixedKeys + 1)
local lastFixedKey = recordKey and fixedKeys + 1 or fixedKeys
local missesKey = presaleMissesKey(KEYS, lastFixedKey + 1)
if missesKey then lastFixedKey = lastFixedKey + 1 end
local passedHoldKeys = {}
local passedCount = #KEYS - lastFixedKey
for i = 1, passedCount do passedHoldKeys[ARGV[5 + i]] = KEYS[lastFixedKey + i] end
local code = accessCodeArg(ARGV)
local seatIds = {}
for i = 6 + passedCount, #ARGV - (code and 1 or 0) do seatIds[#seatIds + 1] = ARGV[i] end

-- A retry with the Idempotency-Key answers what the first request did, whatever holds now.
local request
if recordKey then
  request = seatIdsRequest(seatIds)
  local answered = answeredBefore(recordKey, request)
  if answered then return answered end
end

local meta = redis.call('HMGET', metaKey, 'salesOpenAt', 'currency', 'closed', 'status', 'salesCloseAt', 'noOrphanSeats',
  'maxTicketsPerBuyer')
local salesOpenAt, currency = meta[1], meta[2]
if not salesOpenAt or not currency then return {'NO_PERFORMANCE'} end
-- Redis TIME is asked for once more only while some closure is there, never on the common path.
if meta[3] and closureStands(meta[3], redisNow()) then return {'SALES_CLOSED', 'CLOSED'} end
if meta[4] then return {'SALES_CLOSED', meta[4]} end

local statuses = redis.call('HMGET', seatsKey, unpack(seatIds))
local unknown = {}
for i = 1, #seatIds do
  if not statuses[i] then unknown[#unknown + 1] = seatIds[i] end
end
if #unknown > 0 then return {'UNKNOWN_SEATS', unpack(unknown)} end

local now = redisNow()
if meta[5] and now >= tonumber(meta[5]) then return {'SALES_CLOSED', 'ENDED'} end
local presale, presaleName
if now < tonumber(salesOpenAt) then
  local refusal
  refusal, presale, presaleName = presaleRefusal(metaKey, salesOpenAt, code, now, missesKey)
  if refusal then return refusal end
end

-- Expired holds on the seats are ended below, once every other check passed (seatsToTake).
local refusal, ending, house = seatsToTake(seatIds, statuses, seatHoldsKey, passedHoldKeys, now)
if refusal then return refusal end
local ends = {
  seats = seatsKey, counts = countsKey, expiry = expiryKey, seatHolds = seatHoldsKey, seating = seating,
  holds = passedHoldKeys, meta = metaKey,
}
if house then
  -- A comp's house seats whose hold expired unbought: back to their block now, never a buyer's.
  endExpiredHolds(ends, ending, now)
  return {'UNAVAILABLE', unpack(house)}
end
if presale then
  -- The presale's expired holds on these seats, ended below, give their seats back first.
  local returning = 0
  for _, hold in ipairs(ending) do
    if hold[4] == presale then returning = returning + seatCount(hold[2]) end
  end
  local overAllocation = presaleAllocationRefusal(metaKey, presale, presaleName, #seatIds, returning)
  if overAllocation then return overAllocation end
end

local alreadyHeld, newUserHolds = liveHeldSeats(userHoldsKey, expiryKey, now)
if alreadyHeld + #seatIds > userLimit then return {'LIMIT', alreadyHeld} end
local overLimit = ticketLimitRefusal(KEYS[13], userId, tonumber(meta[7]), alreadyHeld, #seatIds)
if overLimit then return overLimit end

if meta[6] == '1' then
  -- The rule reads the seating data: without it (lost, or of another format than ARGV[4])
  -- the hold is refused rather than let through unchecked; HoldDesk builds the data, asks again.
  if redis.call('HGET', seating.layout, 'ready') ~= seatingFormat then return {'NO_LAYOUT'} end
  local beside, single = seatingSingleLeft(seating, seatIds)
  if beside then return {'SINGLE_LEFT', beside, single} end
end

-- Their seats asked for here are taken below.
endExpiredHolds(ends, ending, now)

local taking = {
  seats = seatsKey, prices = pricesKey, counts = countsKey, expiry = expiryKey,
  userHolds = userHoldsKey, hold = holdKey, seatHolds = seatHoldsKey, seating = seating,
  userIndex = indexUntil and KEYS[14],
}
local expiresAt, amount, prices = takeHold(taking, {
  id = holdId, userId = userId, performanceId = performanceId, seatIds = seatIds, currency = currency,
  now = now, lifetime = lifetime, retention = retention, closesAt = meta[5] and tonumber(meta[5]), indexUntil = indexUntil,
  presale = presale, newUserHolds = newUserHolds,
})
if presale then presaleCount(metaKey, presale, #seatIds) end
if recordKey then
  keepAnswer(recordKey, request, holdId, expiresAt, amount, currency, prices, table.concat(seatIds, ','), nil, retention)
end
return {'OK', expiresAt, amount, currency, prices}
