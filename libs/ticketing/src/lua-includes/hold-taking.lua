--[[
  What every kind of hold does alike (hold-seats.lua for seat ids, hold-best-available.lua for
  best available):

  liveHeldSeats(userHoldsKey, expiryKey, now): the number of seats of the user's live holds (in
    the expiry index with a score after `now`, epoch ms), and whether the user-holds hash is gone
    after the call (it had no entry, or only ended ones: takeHold's `newUserHolds`); entries of
    holds that ended (expired, released, bought) are dropped from the user-holds hash here, lazily.

  ticketLimitRefusal(ticketsBoughtKey, userId, cap, held, wanted): the performance's ticket limit
    per buyer (`cap`, seats; nil = none) counts the seats the user bought (paid purchases not
    canceled: the tickets-bought hash, kept by purchase.lua and cancel-purchase.lua), the seats
    the user holds (`held`) and the `wanted` ones; answers nil when they fit, else the refusal
    {'TICKET_LIMIT', cap, bought, held}.

  seatsToTake(seatIds, statuses, seatHoldsKey, passedHoldKeys, now): whether the requested seats
    (`statuses`: their letters, in `seatIds` order) can all be taken now. A held seat whose hold
    has expired is free; its hold is ended by endExpiredHolds. A held seat without a holder entry
    (held before holders were recorded) waits for the sweeper. An expired hold's record must
    agree that it is HELD and over; one that does not (gone after its retention) leaves its seats
    to the sweeper, and the request is refused as for a live hold. `passedHoldKeys`: hold id ->
    record key of the expired holds the caller passed. Answers a refusal, {'UNAVAILABLE', seat id,
    ...} or {'END_HOLDS', hold id, ...} (expired holds whose records were not passed: call again
    with them), or nil, the holds to end ({hold id, its seats, its house seats or false, its
    presale when its seats were counted (its record's `presaleCounted`), else false}), for
    endExpiredHolds, and the house seats among the requested ones (seat ids in request order, nil
    for none): seats an expired comp hold took out of their block (its record's `fromBlock`),
    which endExpiredHolds puts back to BLOCKED, not on sale. The caller decides: a buyer's hold (or
    an operator's that may not take blocked seats) is refused them (UNAVAILABLE) after ending those
    holds, so the seats are back in their block at once; a comp that may take blocked seats takes
    them from the block. Only an expired hold's record is read for them (one more field of the
    HMGET that checks it): a hold of free seats reads nothing more.

  endExpiredHolds(k, ending, now): ends the expired holds seatsToTake listed as expire-holds.lua
    does (their seats freed, their house seats blocked again, a presale hold's seats given back to
    its allocation, status EXPIRED, out of the expiry index);
    k: { seats, counts, expiry, seatHolds, seating, holds, meta } (holds: passedHoldKeys).

  takeHold(k, hold): holds `hold.seatIds` (seat ids as strings, each AVAILABLE: the caller
    checked) for one user. Letters A -> H, counts, the seating data (refreshed now for a search's
    places, deferred for seat ids: seatingMarkTaken), each seat's holder entry
    '<expiresAt>:<hold id>', the hold record (status HELD; it expires `hold.retention` ms after
    the hold), the expiry index, the user's holds (kept at least as long as this hold) and, when
    the caller passes it (k.userIndex), the user's index of performances with holds. The
    record keeps each seat's price (`prices`, comma-separated, in `seats` order): what the buyer
    pays per seat whatever the section's price later (purchase.lua copies it into the sale).
    A comp (`hold.comp`: the operator's note) is priced 0 a seat whatever the section costs, and
    its record keeps the note (`comp`), which purchase.lua carries into the sale. A box office
    sale's record keeps its payment method (`hold.boxOffice` as `boxOffice`) and its ticket ids
    taken ahead (`hold.ticketIds`, as `ticketIds`) and, when given, where its e-mails go
    (`hold.deliveryEmail`, `hold.deliveryName`, under those names), which purchase.lua carries into
    the sale too. Either (an operator's hold) is not added to the user's holds nor the user's index
    (k.userHolds, k.userIndex are not used): the operator path's own, neither listed to the owner
    nor counted against their hold limit.
    k: { seats, prices, counts, expiry, userHolds, hold, seatHolds, seating, userIndex } (keys;
       seating as in the seating include; userHolds not for an operator's hold; userIndex optional: on a
       single Redis, where it may share the script, index-hold.lua's work is done here)
    hold: { id, userId, performanceId, seatIds, currency, now, lifetime (ms), retention (ms),
       closesAt (optional, epoch ms after `now`: the performance's salesCloseAt; the hold expires
       then at the latest, as nothing can buy it after), arrangement (optional: stored in the record when given), places and rows (optional: the
       seats' {layout position, row index} and the rows' records, as seatingMarkPlaces takes them,
       when the caller read them: their layout entries are then not read again), indexUntil
       (with k.userIndex: the entry's score and the key's expiry, epoch ms), comp (optional: a
       comp's note, hold-comp-seats.lua), boxOffice and ticketIds (optional: a box office sale's
       payment method and ticket ids, hold-comp-seats.lua), deliveryEmail and deliveryName
       (optional, a box office sale's), presale (optional: the id of the presale whose access code
       let the hold in before salesOpenAt, kept as the record's `presale`, with `presaleCounted`
       '1' since the caller counts its seats (the presale-allocation include): purchase.lua and
       claim-hold.lua sell such a hold before the on-sale), newUserHolds (optional: true when
       liveHeldSeats found the user-holds hash gone, so the hold creates it without an expiry) }
    Returns expiresAt (epoch ms), amount (integer, minor units of `hold.currency`; the sum of the
    prices) and the prices (comma-separated, in `hold.seatIds` order).

  Presales (an operator's windows before salesOpenAt in which an access code lets a buyer hold):
  each is a field of the meta hash, 'presale:<id>' -> '<opensAt>:<closesAt>:<code digest>:<name>'
  (epoch ms, [opensAt, closesAt); the digest is hex SHA-256 of '<performance id>:<code in lower
  case>', accessCodeDigest; the name last, so it may hold ':'), written by PresaleStore and by a
  rebuild. Read only before salesOpenAt: a hold after the on-sale reads nothing more, and an
  access code sent then is ignored.

  accessCodeArg(argv): the access code when the caller sent one, as the last ARGV
    'code:<digest>:<miss limit>:<window ms>' (a seat id or hold id never looks so), as
    { digest, limit, window }, else nil; a hold without a code sends nothing more.

  Wrong codes are counted per user and performance, so that codes cannot be guessed: the count
  `{perf:<id>}:presale-misses:<user id>`, a string, comes in KEYS (only with a code) right after
  the Idempotency-Key record if any, else after the script's fixed keys; its name alone says it
  is there. It expires `window` ms after the first miss it counts.

  presaleMissesKey(keys, at): KEYS[at] when it is that count (its name), else nil.

  presaleRefusal(metaKey, salesOpenAt, code, now, missesKey): called before salesOpenAt. Answers
    nil, the presale's id and its name when a presale open at `now` has the code (`code.digest`)
    (the caller then checks its allocation before it takes seats, presaleAllocationRefusal, and
    counts them with the hold, presaleCount: the presale-allocation include); else the
    refusal: {'ACCESS_CODE_ATTEMPTS', ms left of the window} when a code was sent and the user's
    misses (`missesKey`) reached `code.limit` (the code is not looked at, so it tells nothing),
    {'SALES_NOT_OPEN', salesOpenAt} when no presale is open now (a code is not even looked at),
    {'PRESALE_CODE_REQUIRED', salesOpenAt, id, name, ...} (every presale open now) when no code
    was sent, {'PRESALE_NOT_NOW', id, opensAt, closesAt, 'UPCOMING' | 'OVER', name} when the code is
    that of another presale of the performance, not open now (not a miss: told only while some presale is open,
    when wrong codes are counted), {'ACCESS_CODE_INVALID'} when the code is none of theirs (one
    miss more).

  An Idempotency-Key (a buyer's hold only): the key's record `{perf:<id>}:hold-request:<user
  id>:<key digest>`, a hash, comes in KEYS right after the script's fixed keys; a hold record's
  key never ends that way, so its name alone says it is there and the call without a key sends
  nothing more.

  requestRecordKey(keys, at): KEYS[at] when it is an Idempotency-Key record (its name), else nil.

  answeredBefore(recordKey, request): the key's first answer, read before anything else is
    checked: nil when the key has no record (hold as asked), {'KEY_REUSED'} when its record is of
    another request (`request`: what the hold asked for, the same words each time it is asked:
    seatIdsRequest or the best-available request's parameters), else
    {'REPLAY', hold id, expiresAt (epoch ms), amount, currency, prices, seat ids (both
    comma-separated, in the first answer's order), arrangement ('' for seat ids)}: the hold the
    first request made, as it then answered, whatever became of it since; nothing is held again.

  seatIdsRequest(seatIds): a seat-id hold's `request`: the seat ids in ascending order, so the same
    seats asked in another order are the same request.

  keepAnswer(recordKey, request, holdId, expiresAt, amount, currency, prices, seatIds (comma-
    separated), arrangement (or nil), retention (ms)): records the hold just made as the key's
    answer; the record expires with the hold's record (`retention` after the hold's expiry).
]]
--- @include "free-seats"
--- @include "seating"
--- @include "presale-allocation"
local function accessCodeArg(argv)
  local digest, limit, window = string.match(argv[#argv] or '', '^code:(%x+):(%d+):(%d+)$')
  if not digest then return nil end
  return { digest = digest, limit = tonumber(limit), window = tonumber(window) }
end

local function presaleMissesKey(keys, at)
  local key = keys[at]
  if key and string.match(key, '}:presale%-misses:[^:]+$') then return key end
  return nil
end

local function presaleRefusal(metaKey, salesOpenAt, code, now, missesKey)
  if code and tonumber(redis.call('GET', missesKey) or 0) >= code.limit then
    local left = redis.call('PTTL', missesKey)
    return {'ACCESS_CODE_ATTEMPTS', left > 0 and left or code.window}
  end
  local codeDigest = code and code.digest
  local fields = redis.call('HGETALL', metaKey)
  local open = {}
  local other
  for i = 1, #fields, 2 do
    local id = string.match(fields[i], '^presale:(%d+)$')
    if id then
      local opensAt, closesAt, digest, name = string.match(fields[i + 1], '^(%d+):(%d+):(%x+):(.*)$')
      if opensAt and tonumber(opensAt) <= now and now < tonumber(closesAt) then
        if codeDigest == digest then return nil, id, name end
        open[#open + 1] = id
        open[#open + 1] = name
      elseif opensAt and codeDigest == digest then
        other = {'PRESALE_NOT_NOW', id, opensAt, closesAt, now < tonumber(opensAt) and 'UPCOMING' or 'OVER', name}
      end
    end
  end
  if #open == 0 then return {'SALES_NOT_OPEN', salesOpenAt} end
  if not codeDigest then return {'PRESALE_CODE_REQUIRED', salesOpenAt, unpack(open)} end
  -- A right code tried before its own presale opens (fans refresh before the hour) is no guess:
  -- counted as a miss it would lock its holder out of that presale when it opens.
  if other then return other end
  -- The window runs from the first miss: later misses do not push it back.
  if redis.call('INCR', missesKey) == 1 then redis.call('PEXPIRE', missesKey, code.window) end
  return {'ACCESS_CODE_INVALID'}
end

local function liveHeldSeats(userHoldsKey, expiryKey, now)
  local held = 0
  local userHolds = redis.call('HGETALL', userHoldsKey)
  if #userHolds == 0 then return 0, true end
  -- Every hold's expiry in one ZMSCORE (Redis 6.2+), not one ZSCORE a hold; the ended ones in one HDEL.
  local ids = {}
  for i = 1, #userHolds, 2 do ids[#ids + 1] = userHolds[i] end
  local expiries = redis.call('ZMSCORE', expiryKey, unpack(ids))
  local ended = {}
  for i, id in ipairs(ids) do
    local expiresAt = expiries[i]
    if expiresAt and tonumber(expiresAt) > now then
      held = held + tonumber(userHolds[2 * i])
    else
      ended[#ended + 1] = id
    end
  end
  if #ended > 0 then redis.call('HDEL', userHoldsKey, unpack(ended)) end
  return held, #ended == #ids
end

local function ticketLimitRefusal(ticketsBoughtKey, userId, cap, held, wanted)
  if not cap then return nil end
  local bought = tonumber(redis.call('HGET', ticketsBoughtKey, userId)) or 0
  if bought + held + wanted > cap then return {'TICKET_LIMIT', cap, bought, held} end
  return nil
end

local function seatsToTake(seatIds, statuses, seatHoldsKey, passedHoldKeys, now)
  local unavailable, toEnd, toEndIds, missing = {}, {}, {}, {}
  -- Only a held seat's holder is read: a hold of free seats reads none.
  local anyHeld = false
  for i = 1, #seatIds do
    if statuses[i] == 'H' then anyHeld = true end
  end
  local holders = anyHeld and redis.call('HMGET', seatHoldsKey, unpack(seatIds)) or {}
  for i = 1, #seatIds do
    if statuses[i] == 'H' then
      local expiresAt, holderId = string.match(holders[i] or '', '^(%d+):(.+)$')
      if expiresAt and tonumber(expiresAt) <= now then
        if not toEnd[holderId] then
          toEnd[holderId] = true
          toEndIds[#toEndIds + 1] = holderId
          if not passedHoldKeys[holderId] then missing[#missing + 1] = holderId end
        end
      else
        unavailable[#unavailable + 1] = seatIds[i]
      end
    elseif statuses[i] ~= 'A' then
      unavailable[#unavailable + 1] = seatIds[i]
    end
  end
  if #unavailable > 0 then return {'UNAVAILABLE', unpack(unavailable)} end
  if #missing > 0 then return {'END_HOLDS', unpack(missing)} end

  local ending, houseOf = {}, nil
  for _, endingId in ipairs(toEndIds) do
    local record = redis.call('HMGET', passedHoldKeys[endingId], 'status', 'expiresAt', 'seats', 'fromBlock', 'presale',
      'presaleCounted')
    if record[1] ~= 'HELD' or tonumber(record[2]) > now then
      for i = 1, #seatIds do
        if statuses[i] == 'H' and string.match(holders[i], ':(.+)$') == endingId then
          unavailable[#unavailable + 1] = seatIds[i]
        end
      end
    else
      -- Its presale only when its seats were counted: an older version's hold gives none back.
      ending[#ending + 1] = {endingId, record[3], record[4], record[6] == '1' and record[5]}
      if record[4] then
        houseOf = houseOf or {}
        houseOf[endingId] = {}
        for seatId in string.gmatch(record[4], '[^,]+') do houseOf[endingId][seatId] = true end
      end
    end
  end
  if #unavailable > 0 then return {'UNAVAILABLE', unpack(unavailable)} end
  if not houseOf then return nil, ending, nil end
  -- Requested seats still held by an ending comp hold that took them from their block.
  local house = {}
  for i = 1, #seatIds do
    if statuses[i] == 'H' then
      local seats = houseOf[string.match(holders[i], ':(.+)$')]
      if seats and seats[seatIds[i]] then house[#house + 1] = seatIds[i] end
    end
  end
  return nil, ending, #house > 0 and house or nil
end

local function endExpiredHolds(k, ending, now)
  for _, hold in ipairs(ending) do
    endHeldSeats(k.seats, k.counts, hold[2], hold[3], k.seating, k.seatHolds, hold[1])
    presaleGiveBack(k.meta, hold[4], '1', seatCount(hold[2]))
    redis.call('HSET', k.holds[hold[1]], 'status', 'EXPIRED', 'endedAt', now)
    redis.call('ZREM', k.expiry, hold[1])
  end
end

local function takeHold(k, hold)
  local seatIds = hold.seatIds
  local prices
  if hold.comp then
    prices = {}
    for i = 1, #seatIds do prices[i] = 0 end
  else
    prices = redis.call('HMGET', k.prices, unpack(seatIds))
  end
  local amount = 0
  local heldFields = {}
  for i = 1, #seatIds do
    amount = amount + tonumber(prices[i])
    heldFields[#heldFields + 1] = seatIds[i]
    heldFields[#heldFields + 1] = 'H'
  end
  redis.call('HSET', k.seats, unpack(heldFields))
  if hold.places then
    -- The search's own hold refreshes its rows now: the next search would refresh them first.
    seatingMarkPlaces(k.seating, hold.places, false, hold.rows)
  else
    seatingMarkTaken(k.seating, seatIds)
  end
  -- Numbers given to redis.call are formatted by snprintf('%.17g') each time (~3,000
  -- instructions): each is made a string once here (docs/performance.md, "Hot scripts").
  local count = string.format('%d', #seatIds)
  redis.call('HINCRBY', k.counts, 'available', '-' .. count)
  redis.call('HINCRBY', k.counts, 'held', count)

  local expiresAt = hold.now + hold.lifetime
  if hold.closesAt and hold.closesAt < expiresAt then expiresAt = hold.closesAt end
  local expiresText = string.format('%d', expiresAt)
  local holderEntry = expiresText .. ':' .. hold.id
  local holderFields = {}
  for i = 1, #seatIds do
    holderFields[#holderFields + 1] = seatIds[i]
    holderFields[#holderFields + 1] = holderEntry
  end
  redis.call('HSET', k.seatHolds, unpack(holderFields))
  -- The prices as read (integers in minor units, as registration wrote them), or the comp's 0s.
  local priceList = table.concat(prices, ',')
  local record = {
    'userId', hold.userId,
    'performanceId', hold.performanceId,
    'seats', table.concat(seatIds, ','),
    'amount', string.format('%d', amount),
    'prices', priceList,
    'currency', hold.currency,
    'status', 'HELD',
    'createdAt', string.format('%d', hold.now),
    'expiresAt', expiresText,
  }
  if hold.presale then
    -- Every caller that passes the presale counts the hold's seats in it (presaleCount).
    record[#record + 1] = 'presale'
    record[#record + 1] = hold.presale
    record[#record + 1] = 'presaleCounted'
    record[#record + 1] = '1'
  end
  if hold.arrangement then
    record[#record + 1] = 'arrangement'
    record[#record + 1] = hold.arrangement
  end
  if hold.comp then
    record[#record + 1] = 'comp'
    record[#record + 1] = hold.comp
  end
  if hold.boxOffice then
    record[#record + 1] = 'boxOffice'
    record[#record + 1] = hold.boxOffice
    record[#record + 1] = 'ticketIds'
    record[#record + 1] = hold.ticketIds
  end
  for _, field in ipairs({'deliveryEmail', 'deliveryName'}) do
    if hold[field] then
      record[#record + 1] = field
      record[#record + 1] = hold[field]
    end
  end
  redis.call('HSET', k.hold, unpack(record))
  redis.call('PEXPIREAT', k.hold, string.format('%d', expiresAt + hold.retention))
  redis.call('ZADD', k.expiry, expiresText, hold.id)

  if hold.comp or hold.boxOffice then return expiresAt, amount, priceList end
  redis.call('HSET', k.userHolds, hold.id, count)
  -- The user-holds hash is useless once all its holds have expired; never shorten its life. A
  -- hash this hold created (hold.newUserHolds) has no expiry yet; an older one's moves only later
  -- (GT), or is set when it had none (GT leaves such a key alone and answers 0).
  if hold.newUserHolds then
    redis.call('PEXPIREAT', k.userHolds, expiresText)
  elseif redis.call('PEXPIREAT', k.userHolds, expiresText, 'GT') == 0 and redis.call('PTTL', k.userHolds) < 0 then
    redis.call('PEXPIREAT', k.userHolds, expiresText)
  end
  if k.userIndex then
    -- As index-hold.lua: the score only grows, the key expires with the latest entry.
    redis.call('ZADD', k.userIndex, 'GT', hold.indexUntil, hold.performanceId)
    redis.call('PEXPIREAT', k.userIndex, hold.indexUntil)
  end
  return expiresAt, amount, priceList
end

local function requestRecordKey(keys, at)
  local key = keys[at]
  if key and string.match(key, '}:hold%-request:[^:]+:[^:]+$') then return key end
  return nil
end

local function answeredBefore(recordKey, request)
  local stored = redis.call('HMGET', recordKey, 'request', 'hold', 'expiresAt', 'amount', 'currency', 'prices', 'seats',
    'arrangement')
  if not stored[1] then return nil end
  if stored[1] ~= request then return {'KEY_REUSED'} end
  return {'REPLAY', stored[2], stored[3], stored[4], stored[5], stored[6], stored[7], stored[8] or ''}
end

local function seatIdsRequest(seatIds)
  local sorted = {}
  for i = 1, #seatIds do sorted[i] = tonumber(seatIds[i]) end
  table.sort(sorted)
  return 'seats:' .. table.concat(sorted, ',')
end

local function keepAnswer(recordKey, request, holdId, expiresAt, amount, currency, prices, seatIds, arrangement, retention)
  redis.call('HSET', recordKey, 'request', request, 'hold', holdId, 'expiresAt', expiresAt, 'amount', amount,
    'currency', currency, 'prices', prices, 'seats', seatIds)
  if arrangement then redis.call('HSET', recordKey, 'arrangement', arrangement) end
  redis.call('PEXPIREAT', recordKey, expiresAt + retention)
end
