--[[
  Picks the best available seats for a party and holds them for one user, in one atomic step
  (docs/seating.md). Redis TIME is the only clock. The hold is made exactly as hold-seats.lua
  makes one (same records, same per-user limit), so purchase, release and expiry treat it alike.

  The ladder, each rung tried only when the one before found nothing:
    TOGETHER           n seats side by side in one row, leaving no single free seat beside them
    TOGETHER_WITH_GAP  n seats side by side in one row, leaving one single free seat, or two
                       where no placement leaves only one (a wheelchair space between its
                       companion seats, for one)
    ADJACENT_ROWS      n seats in k consecutive rows of one section (k = 2, 3, … n, the fewest
                       rows first), each row's share side by side, shares as equal as possible
                       (the larger shares in the front rows, or in the back rows); the shares
                       aligned (one seat number in every share) at the fewest rows that allow it,
                       else each share its row's best window at the fewest rows that allow any;
                       alignment is sought within a work budget (ALIGN_BUDGET); when that leaves
                       a single free seat (or nothing fits), the shares of any split leaving none,
                       at the fewest rows, if there are any (searchAdjacentClean, CLEAN_BUDGET)
    SPLIT              only when `together` is 0: the n best free seats
  On a performance with noOrphanSeats, TOGETHER_WITH_GAP is skipped unless the singles its best
  window leaves are all marked seats, and a placement of a later rung that leaves a single free
  unmarked seat (seatingSingleLeft, as for a seat-id hold) answers NO_FIT.
  Best = highest sum of seat quality (0…1000 per seat), then the lowest layout position. Seats
  marked accessible or companion are offered only to `accessible` requests, which get only those
  seats, at least one of them accessible.

  Work is bounded by the seating data (the seating include): a section or row whose cached
  longest free run is shorter than what a rung needs, or (for an accessible request) that has no
  free accessible seat, is skipped without reading its seats. The together rungs visit sections
  and rows in the order of a bound on their best TOGETHER placement of n seats, from their cached
  best free seat and best clean windows of 2…8 seats (togetherBound, exact for n up to 8), and
  stop once no later one can beat the best placement found (or tie it at a lower layout
  position); the other rungs use n × the best free seat's quality. For a party of 2…8, a row's
  best clean window of that size (cached with its place) is its answer when its seats are
  unmarked: the row's seats are not read.
  A row's best windows for a size are cached in its 'w<row>' layout field, which every change of
  the row's bits deletes, so a search scores only rows that changed since one last did.

  Expired holds found in the expiry index (up to 16 per call) are ended first, as expire-holds.lua
  does, so their seats are offered (a comp's house seats, its record's `fromBlock`, go back to
  BLOCKED, as expire-holds.lua puts them, and are not); their records must come in KEYS: a call
  that finds one not passed changes nothing and answers END_HOLDS with the ids to pass on the
  next call, unless ARGV[14] is '1' (the caller's last round: holds keep expiring faster than its
  rounds end them), when it ends the passed ones only and searches with the others' seats still
  taken.

  KEYS[1] meta        hash: salesOpenAt, currency, closed (the sales-closure include),
                      status, salesCloseAt, noOrphanSeats, maxTicketsPerBuyer, presales and their
                      allocations (hold-seats.lua)
  KEYS[2] seats       hash seat id -> status letter (A available, H held, S sold, B blocked)
  KEYS[3] prices      hash seat id -> price (integer, minor units of the currency)
  KEYS[4] counts      hash total, available, held, sold, blocked
  KEYS[5] expiry      sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[6] user holds  hash hold id -> seat count, of this user's holds that may still be live
  KEYS[7] hold        hash of the new hold
  KEYS[8] seat holds  hash seat id -> '<expiresAt (epoch ms)>:<hold id>'
  KEYS[9] free        free-seat bitmap (the seating include)
  KEYS[10] seating    static layout hash (the seating include), plus: 'ready' (the data's format,
                      ARGV[7], once the bitmap and runs were built in it: 34-byte slots with
                      folded section names and grades), 'all' (section indexes, comma-separated), 'g:<folded
                      grade>' (the sections of one grade), 'sn:<folded section name>' (its index);
                      written: 'w<row>' (the row's cached windows, see rowWindows); read and
                      deleted: 'dirty' (rows seat-id holds left stale, refreshed before the search)
  KEYS[11] runs       per row and section: longest free run, best free quality, best clean
                      windows of 2…8 seats, best free accessible quality (the seating include)
  KEYS[12] seat info  string, 8 bytes per layout position: seat id (u32), quality (u16), flags
                      (u8: 1 accessible, 2 companion), 0; all big-endian
  KEYS[13] tickets    hash user id -> seats of the user's paid purchases not canceled
           bought     (hold-seats.lua)
  KEYS[14]            the user's index of performances with holds, only when ARGV[8] is not ''
                      (hold-seats.lua)
  KEYS[14+i]          only with an Idempotency-Key: its record (hold-seats.lua); i = 1 with the
                      index key, else 0
  KEYS[14+i+j]        only with an access code: the user's count of wrong codes (hold-seats.lua);
                      j = 1 with the Idempotency-Key record, else 0
  KEYS[14+i+j+m..13+i+j+m+n]  hashes of expired holds to end, the holds named in ARGV[15..14+n];
                      m = 1 with the count of wrong codes, else 0

  ARGV[1] hold id            ARGV[2] user id             ARGV[3] performance id
  ARGV[4] hold lifetime (ms) ARGV[5] most seats one user may hold on this performance
  ARGV[6] how long a hold record stays readable after it expires (ms)
  ARGV[7] the seating data's format (SEATING_FORMAT): KEYS[10]'s 'ready' must equal it
  ARGV[8] '' or, with the index key KEYS[14], until when its entry counts (epoch ms) (hold-seats.lua)
  ARGV[9] quantity (1…ARGV[5])
  ARGV[10] together: '1' (stop after ADJACENT_ROWS) or '0' (SPLIT allowed)
  ARGV[11] accessible: '1' or '0'
  ARGV[12] filter: 'all', 'grade' or 'section'    ARGV[13] the grade folded (gradeKey), or the section name folded (sectionNameKey), or '' for all
  ARGV[14] '1': end only the expired holds passed, never answer END_HOLDS; '0': as above
  ARGV[15..14+n] ids of the expired holds whose records follow the fixed keys
  ARGV[15+n]     only with an access code: 'code:<digest>:<miss limit>:<window ms>' (hold-seats.lua)

  Returns one of
    {'OK', expiresAt (epoch ms; salesCloseAt if sooner than now + lifetime), amount (minor units),
     currency, arrangement, seat ids (comma-separated),
     prices (each seat's, comma-separated, in the order of the seat ids)}
    {'NO_PERFORMANCE'} · {'NO_LAYOUT'} (registered without seating data, or with data of another
                       format than ARGV[7]: build it, call again)
    {'UNKNOWN_SECTION'} · {'UNKNOWN_GRADE'}
    {'SALES_NOT_OPEN', salesOpenAt} · {'PRESALE_CODE_REQUIRED', salesOpenAt, presale id, name, ...} ·
    {'PRESALE_NOT_NOW', presale id, opensAt, closesAt, 'UPCOMING' | 'OVER', name} · {'ACCESS_CODE_INVALID'} ·
    {'ACCESS_CODE_ATTEMPTS', ms left} (hold-seats.lua) ·
    {'PRESALE_EXHAUSTED', presale id, maxSeats, seats taken, name} (hold-seats.lua: the quantity asked
                      for does not fit in what is left of the presale's allocation; never fewer held) ·
    {'SALES_CLOSED', reason} · {'LIMIT', seats already held}
    {'TICKET_LIMIT', maxTicketsPerBuyer, seats bought, seats held} (hold-seats.lua)
    {'NO_FIT'}        nothing fits the request, for none of the reasons below; nothing held
    {'NO_FIT', 'SINGLE_LEFT'}  noOrphanSeats refused what the ladder found (it left a single
                      free seat), and nothing else fits; nothing held
    {'NO_FIT', 'SOLD_OUT'}  no seat of the scope (the performance, the grade or the section) is
                      free; nothing held
    {'NO_FIT', 'NO_ACCESSIBLE'}  an accessible request, and no seat of the scope is a wheelchair
                      space (sold or not: none was ever marked there); nothing held
    {'NO_FIT', 'ACCESSIBLE_ONLY'}  nothing fits a request that is not accessible, and free seats
                      marked accessible or companion, which it may not take, are in the scope;
                      nothing held
    {'END_HOLDS', hold id, ...}
    {'REPLAY', hold id, expiresAt, amount, currency, prices, seat ids, arrangement}  with an
                      Idempotency-Key that made a hold for the same quantity, together, accessible,
                      filter and folded grade or section before: that hold's first answer
                      (answeredBefore), checked before anything else; nothing held
    {'KEY_REUSED'}    with an Idempotency-Key whose hold was asked for otherwise (other parameters,
                      or seat ids); nothing held
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
local holdId, userId, performanceId = ARGV[1], ARGV[2], ARGV[3]
local lifetime, userLimit, retention = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local seatingFormat = ARGV[7]
local indexUntil = ARGV[8] ~= '' and ARGV[8] or nil
local fixedKeys = indexUntil and 14 or 13
local quantity, together, accessible = tonumber(ARGV[9]), ARGV[10] == '1', ARGV[11] == '1'
local filter, filterValue = ARGV[12], ARGV[13]
local recordKey = requestRecordKey(KEYS, fixedKeys + 1)
local lastFixedKey = recordKey and fixedKeys + 1 or fixedKeys
local missesKey = presaleMissesKey(KEYS, lastFixedKey + 1)
if missesKey then lastFixedKey = lastFixedKey + 1 end
local passedHoldKeys = {}
local passedOnly = ARGV[14] == '1'
for i = 1, #KEYS - lastFixedKey do passedHoldKeys[ARGV[14 + i]] = KEYS[lastFixedKey + i] end
local EXPIRED_PER_CALL = 16

-- A retry with the Idempotency-Key answers what the first request did, whatever holds now.
local request
if recordKey then
  request = table.concat({'best', ARGV[9], ARGV[10], ARGV[11], filter, filterValue}, ':')
  local answered = answeredBefore(recordKey, request)
  if answered then return answered end
end

local meta = redis.call('HMGET', metaKey, 'salesOpenAt', 'currency', 'closed', 'status', 'salesCloseAt', 'noOrphanSeats',
  'maxTicketsPerBuyer')
-- The performance's noOrphanSeats rule, as a seat-id hold keeps it (hold-seats.lua).
local noOrphanSeats = meta[6] == '1'
-- Whether the rule refused a placement the ladder had found (NO_FIT then says so).
local singleRefused = false
local salesOpenAt, currency = meta[1], meta[2]
if not salesOpenAt or not currency then return {'NO_PERFORMANCE'} end
-- As hold-seats.lua: a lapsed lease counts as no closure.
if meta[3] and closureStands(meta[3], redisNow()) then return {'SALES_CLOSED', 'CLOSED'} end
if meta[4] then return {'SALES_CLOSED', meta[4]} end

local layoutHead
if filter == 'section' then
  layoutHead = redis.call('HMGET', seating.layout, 'ready', 'sn:' .. filterValue, 'dirty', 'sections')
elseif filter == 'grade' then
  layoutHead = redis.call('HMGET', seating.layout, 'ready', 'g:' .. filterValue, 'dirty', 'sections')
else
  layoutHead = redis.call('HMGET', seating.layout, 'ready', 'all', 'dirty', 'sections')
end
-- 'ready' is the data's format (SEATING_FORMAT, seating-layout.ts): any other is built again.
if layoutHead[1] ~= seatingFormat then return {'NO_LAYOUT'} end
if not layoutHead[2] then return {filter == 'grade' and 'UNKNOWN_GRADE' or 'UNKNOWN_SECTION'} end

local now = redisNow()
if meta[5] and now >= tonumber(meta[5]) then return {'SALES_CLOSED', 'ENDED'} end
local presale, presaleName
if now < tonumber(salesOpenAt) then
  local refusal
  refusal, presale, presaleName = presaleRefusal(metaKey, salesOpenAt, accessCodeArg(ARGV), now, missesKey)
  if refusal then return refusal end
end

-- The per-user limit, counted as hold-seats.lua counts it.
local alreadyHeld, newUserHolds = liveHeldSeats(userHoldsKey, expiryKey, now)
if alreadyHeld + quantity > userLimit then return {'LIMIT', alreadyHeld} end
local overLimit = ticketLimitRefusal(KEYS[13], userId, tonumber(meta[7]), alreadyHeld, quantity)
if overLimit then return overLimit end

local due = redis.call('ZRANGEBYSCORE', expiryKey, '-inf', now, 'LIMIT', 0, EXPIRED_PER_CALL)
local missing = {}
for _, dueId in ipairs(due) do
  if not passedHoldKeys[dueId] then missing[#missing + 1] = dueId end
end
if #missing > 0 and not passedOnly then return {'END_HOLDS', unpack(missing)} end
for _, dueId in ipairs(due) do
  local holdKey = passedHoldKeys[dueId]
  if holdKey then
    local record = redis.call('HMGET', holdKey, 'status', 'expiresAt', 'seats', 'fromBlock', 'presale', 'presaleCounted')
    if record[1] == 'HELD' and tonumber(record[2]) <= now then
      -- A comp's house seats (taken from their block, never bought) go back to it, not on offer.
      endHeldSeats(seatsKey, countsKey, record[3], record[4], seating, seatHoldsKey, dueId)
      presaleGiveBack(metaKey, record[5], record[6], seatCount(record[3]))
      redis.call('HSET', holdKey, 'status', 'EXPIRED', 'endedAt', now)
    end
    -- An entry of a hold that ended some other way (or whose record is gone) is stale.
    if record[1] ~= 'HELD' or tonumber(record[2]) <= now then redis.call('ZREM', expiryKey, dueId) end
  end
end
-- After the expired holds above gave their seats back; the whole quantity fits, or nothing is held.
if presale then
  local refusal = presaleAllocationRefusal(metaKey, presale, presaleName, quantity)
  if refusal then return refusal end
end

-- Rows whose seats seat-id holds took since their slot was refreshed: fresh before any is read.
seatingRefreshDirty(seating, layoutHead[3])

-- Candidate sections and their static records (the layout's 'sections' bytes): first row, rows,
-- slot, marked (accessible or companion) seats.
local sections = {}
for index in string.gmatch(layoutHead[2], '%d+') do sections[#sections + 1] = tonumber(index) end
local sectionInfo = {}
local firstSlot, lastSlot
for _, index in ipairs(sections) do
  local firstRow, rows, slot, marked = seatingSection(layoutHead[4], index)
  sectionInfo[index] = { firstRow = firstRow, rows = rows, slot = slot, marked = marked }
  if not firstSlot or slot < firstSlot then firstSlot = slot end
  if not lastSlot or slot > lastSlot then lastSlot = slot end
end

-- Live data, read once per search: per section and row the longest free run, the best free
-- quality (-1: none free) and the best free accessible seat's (-1: none); by size k = 2…8
-- (clean[k], cleanAt[k]) the best quality sum of k free seats side by side leaving no single
-- (-1: none) and a row's seat index of the first best such window (0: none); rows' seats when a
-- rung needs them.
local sectionRuns, sectionTops, sectionClean, sectionAccessTops
local rowRecords, rowRuns, rowTops, rowClean, rowCleanAt, rowAccessTops, rowOrders, rowSeats
-- Rows' layout fields as read, not yet parsed: 'r<row>' and 'w<row>' (false when absent).
local rowFields
-- Per section opened and size k: whether its rows' clean window fields of k were decoded; per
-- section read: its row slots as stored (one GETRANGE, kept for openSection).
local cleanOpen, sectionSlots
-- The ADJACENT_ROWS aligned search's, per search: per row and share size the best window holding
-- each seat (rowCover); per row its runs of seats the request may take (eligibleRuns); per row and
-- share size whether the row and the next may hold aligned shares (mayAlign).
local covers, eligibleRunsOf, pairAligns
-- The ADJACENT_ROWS aligned search's work budget per call, in sets of rows visited or scored
-- (searchAdjacentRows): past it the rung answers without alignment, so a fragmented late sale
-- where nothing aligns costs about the old rung. Measured in docs/seating.md; the properties'
-- oracle states it too (test/adjacent-rows.ts: ALIGN_BUDGET, alignWorkBound, adjacentRowsClaim).
local ALIGN_BUDGET = 112
-- searchAdjacentClean's work budget per call, in rows visited (first rows of sets, and rows added
-- to a set): it runs only when the equal shares leave a single free seat or none fit, and past
-- it answers the best clean placement found so far (test/adjacent-rows.ts: CLEAN_BUDGET).
local CLEAN_BUDGET = 256

-- Row (and section) indexes are below 2^20 (a venue of a million rows); a sort key packs the best
-- free seat and the index into one number so that table.sort compares numbers, not through a
-- Lua function (about ten times cheaper on a section's hundred rows).
local ROW_KEY = 1048576

-- The u16 at byte `at` (from 1) of `bytes` (0 past its end).
local function slotField(bytes, at)
  local high, low = string.byte(bytes, at, at + 1)
  return (high or 0) * 256 + (low or 0)
end

-- Reads the sections' slots (one GETRANGE) and orders the sections by their best free seat. Only
-- the clean window fields this request's together bound reads (togetherParts: n up to 8, else
-- windows of 8 and the rest) are decoded: a slot decoded whole costs several times more.
local function loadSections()
  sectionRuns, sectionTops, sectionAccessTops = {}, {}, {}
  rowRecords, rowRuns, rowTops, rowAccessTops = {}, {}, {}, {}
  local cleanFrom, cleanTo = quantity, quantity
  if quantity > SEATING_CLEAN_MAX then cleanFrom, cleanTo = 2, SEATING_CLEAN_MAX end
  -- Only the sizes the together bound reads get tables: every table made costs its share of the
  -- garbage collector's work (docs/performance.md, "Best-available's Redis cost by phase").
  sectionClean, rowClean, rowCleanAt = {}, {}, {}
  for k = math.max(cleanFrom, 2), cleanTo do sectionClean[k], rowClean[k], rowCleanAt[k] = {}, {}, {} end
  rowOrders, rowSeats = {}, {}
  rowFields, cleanOpen, sectionSlots = {}, {}, {}
  local slots = redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * firstSlot, SEATING_SLOT_BYTES * (lastSlot + 1) - 1)
  local keys = {}
  for i = 1, #sections do
    local index = sections[i]
    local at = SEATING_SLOT_BYTES * (sectionInfo[index].slot - firstSlot)
    local a, b, c, d = string.byte(slots, at + 1, at + 4)
    sectionRuns[index], sectionTops[index] = (a or 0) * 256 + (b or 0), (c or 0) * 256 + (d or 0) - 1
    sectionAccessTops[index] = slotField(slots, at + 17) - 1
    for k = math.max(cleanFrom, 2), cleanTo do
      sectionClean[k][index] = slotField(slots, at + 2 * SEATING_CLEAN_FIELD[k] - 1) - 1
    end
    -- Best free seat first, then layout order, by one number (ROW_KEY: a sort without a Lua comparator).
    keys[i] = index - sectionTops[index] * ROW_KEY
  end
  table.sort(keys)
  for i = 1, #keys do sections[i] = keys[i] % ROW_KEY end
end

local function sectionRun(index)
  return sectionRuns[index]
end

-- The section's row slots as stored, read once per search (one GETRANGE).
local function readSectionSlots(index)
  local slots = sectionSlots[index]
  if slots then return slots end
  local info = sectionInfo[index]
  slots = redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * info.firstRow,
    SEATING_SLOT_BYTES * (info.firstRow + info.rows) - 1)
  sectionSlots[index] = slots
  return slots
end

-- The section's row slots decoded: runs, tops and accessible tops (what every rung reads); the
-- clean window fields only by openClean (the together rungs), the sizes they need. One string.byte call per row for
-- the bytes it needs: decoding a section's slots whole into one table costs several times more.
local function openSection(index)
  if rowOrders[index] ~= nil then return end
  local info = sectionInfo[index]
  local slots = readSectionSlots(index)
  for i = 0, info.rows - 1 do
    local at, r = SEATING_SLOT_BYTES * i, info.firstRow + i
    local a, b, c, d = string.byte(slots, at + 1, at + 4)
    rowRuns[r] = (a or 0) * 256 + (b or 0)
    rowTops[r] = (c or 0) * 256 + (d or 0) - 1
    if accessible then
      local e, f = string.byte(slots, at + 17, at + 18)
      rowAccessTops[r] = (e or 0) * 256 + (f or 0) - 1
    else
      rowAccessTops[r] = -1
    end
  end
  rowOrders[index] = false
end

-- The clean window fields of k seats (2…8, each with its first seat) of the section's rows that
-- have k free seats side by side; one string.byte call per row.
local function openClean(index, k)
  cleanOpen[index] = cleanOpen[index] or {}
  if cleanOpen[index][k] then return end
  openSection(index)
  local info, slots = sectionInfo[index], sectionSlots[index]
  local offset = 2 * SEATING_CLEAN_FIELD[k] - 1
  local clean, cleanAt = rowClean[k], rowCleanAt[k]
  for i = 0, info.rows - 1 do
    local r = info.firstRow + i
    if rowRuns[r] >= k then
      local at = SEATING_SLOT_BYTES * i + offset
      local a, b, c, d = string.byte(slots, at, at + 3)
      clean[r], cleanAt[r] = (a or 0) * 256 + (b or 0) - 1, (c or 0) * 256 + (d or 0)
    end
  end
  cleanOpen[index][k] = true
end

-- The section's rows that have a free seat, best free seat first (then the lower row index).
local function sectionOrder(index)
  openSection(index)
  if rowOrders[index] then return rowOrders[index] end
  local info = sectionInfo[index]
  local order = {}
  for r = info.firstRow, info.firstRow + info.rows - 1 do
    if rowTops[r] >= 0 then order[#order + 1] = r - rowTops[r] * ROW_KEY end
  end
  table.sort(order)
  for i = 1, #order do order[i] = order[i] % ROW_KEY end
  rowOrders[index] = order
  return order
end

-- Reads the layout fields of those of `rows` not read yet, in one HMGET.
local function prefetchRows(rows)
  local names, wanted = {}, {}
  for _, r in ipairs(rows) do
    if not rowRecords[r] and not rowFields[r] then
      wanted[#wanted + 1] = r
      names[#names + 1] = 'r' .. r
      names[#names + 1] = 'w' .. r
    end
  end
  if #wanted == 0 then return end
  local values = redis.call('HMGET', seating.layout, unpack(names))
  for i, r in ipairs(wanted) do rowFields[r] = {values[2 * i - 1], values[2 * i]} end
end

-- A row's record: first layout position, seats, section index, best quality, marked seats, and its cached
-- best windows (the seating include's 'w<row>' field, '' when none).
local function rowRecord(r)
  local record = rowRecords[r]
  if record then return record end
  if not rowFields[r] then prefetchRows({r}) end
  local fields = rowFields[r]
  local a, b, c, d, e = string.match(fields[1], '^(%d+),(%d+),(%d+),(%d+),(%d+)$')
  record = {
    first = tonumber(a), seats = tonumber(b), section = tonumber(c), top = tonumber(d), marked = tonumber(e),
    cached = fields[2] or '', windows = {},
  }
  rowRecords[r] = record
  return record
end

-- A row's free bits and, for its free seats only, quality and flags; read once per search.
local function openRow(r)
  if rowSeats[r] then return rowSeats[r] end
  local record = rowRecord(r)
  local first, seats = record.first, record.seats
  local bits = seatingRowBits(seating.free, first, seats)
  local info = seatingBytes(redis.call('GETRANGE', seating.info, 8 * first, 8 * (first + seats) - 1))
  local quality, flags, eligible = {}, {}, {}
  for i = 1, seats do
    if bits[i] then
      local f = info[8 * i - 1]
      quality[i] = info[8 * i - 3] * 256 + info[8 * i - 2]
      flags[i] = f
      eligible[i] = (f ~= 0) == accessible
    else
      eligible[i] = false
    end
  end
  rowSeats[r] = {
    first = first, seats = seats, bits = bits, quality = quality, flags = flags, eligible = eligible,
  }
  return rowSeats[r]
end

-- rowWindows' answer as cached: score and first seat for 0, 1 and 2 singles, comma-separated;
-- 0,0 where there is no such window (a first seat counts from 1).
local function encodeWindows(best)
  local parts = {}
  for singles = 0, 2 do
    local window = best[singles] or {0, 0}
    parts[#parts + 1] = window[1]
    parts[#parts + 1] = window[2]
  end
  return table.concat(parts, ',')
end

-- The best window of `size` eligible seats side by side in the row for each number of single
-- free seats it leaves beside it (0, 1 or 2): {score, index of its first seat}. The answer
-- depends only on the row's free bits (plus its static qualities and flags), so it is cached in
-- the row's 'w<row>' field of the layout hash, which every change of the row's bits deletes
-- (the seating include); a search reads a row's seats only when it changed since one last did.
-- The pattern of one entry of a row's cached windows, by entry name (built once per name).
local windowPatterns = {}

local function rowWindows(r, size, needAccessible)
  local record = rowRecord(r)
  local cacheKey = size .. (accessible and 'e' or '') .. (needAccessible and 'a' or '')
  if record.windows[cacheKey] then return record.windows[cacheKey] end
  local pattern = windowPatterns[cacheKey]
  if not pattern then
    pattern = ';' .. cacheKey .. ':(%d+),(%d+),(%d+),(%d+),(%d+),(%d+)'
    windowPatterns[cacheKey] = pattern
  end
  local s0, f0, s1, f1, s2, f2 = string.match(record.cached, pattern)
  if s0 then
    local best = {}
    if f0 ~= '0' then best[0] = {tonumber(s0), tonumber(f0)} end
    if f1 ~= '0' then best[1] = {tonumber(s1), tonumber(f1)} end
    if f2 ~= '0' then best[2] = {tonumber(s2), tonumber(f2)} end
    record.windows[cacheKey] = best
    return best
  end
  local row = openRow(r)
  local bits, eligible, quality, flags, seats = row.bits, row.eligible, row.quality, row.flags, row.seats
  local best = {}
  local i = 1
  while i <= seats do
    if eligible[i] then
      local j = i
      while j < seats and eligible[j + 1] do j = j + 1 end
      if j - i + 1 >= size then
        local sum, accessibleSeats = 0, 0
        for k = i, i + size - 1 do
          sum = sum + quality[k]
          if flags[k] == 1 then accessibleSeats = accessibleSeats + 1 end
        end
        for s = i, j - size + 1 do
          if s > i then
            sum = sum - quality[s - 1] + quality[s + size - 1]
            if flags[s - 1] == 1 then accessibleSeats = accessibleSeats - 1 end
            if flags[s + size - 1] == 1 then accessibleSeats = accessibleSeats + 1 end
          end
          if not needAccessible or accessibleSeats > 0 then
            local singles = 0
            local left, right = s - 1, s + size
            if left >= 1 and bits[left] and (left == 1 or not bits[left - 1]) then singles = singles + 1 end
            if right <= seats and bits[right] and (right == seats or not bits[right + 1]) then singles = singles + 1 end
            if not best[singles] or sum > best[singles][1] then best[singles] = {sum, s} end
          end
        end
      end
      i = j + 1
    else
      i = i + 1
    end
  end
  record.windows[cacheKey] = best
  record.cached = (record.cached == '' and ';' or record.cached) .. cacheKey .. ':' .. encodeWindows(best) .. ';'
  redis.call('HSET', seating.layout, 'w' .. r, record.cached)
  return best
end

-- A placement: {score, first layout position, {row index, first seat index, size}, ...}.
local function better(a, b)
  return not b or a[1] > b[1] or (a[1] == b[1] and a[2] < b[2])
end

-- Whether a row (a section) may hold `size` seats side by side and, for an accessible request,
-- has a free accessible seat (a TOGETHER window, and an ADJACENT_ROWS first row, needs one).
local function rowUsable(r, size)
  return rowRuns[r] >= size and (not accessible or rowAccessTops[r] >= 0)
end

local function sectionUsable(index, size)
  return sectionRun(index) >= size and (not accessible or sectionAccessTops[index] >= 0)
end

--[[
  The window sizes whose best fields bound a TOGETHER placement of n seats (side by side, no single
  left), as {size = count}: a window of n seats leaving no single splits into windows of 2 or more
  seats that each leave none (the seats beside an inner part are the window's own, two deep), so
  its score is at most the sum of the best clean windows of those sizes. n = 1: the best free
  seat (size 1); n = 2…8: one clean window of n (exact up to the eligible seats); from 9: clean
  windows of 8 and one of the rest (n % 8 = 1: 8s, then 5 and 4). Every part is at most n - 2
  seats, so a row whose longest free run fits n has each of them.
]]
local function togetherParts(n)
  if n <= SEATING_CLEAN_MAX then return {[n] = 1} end
  local eights, rest = math.floor(n / 8), n % 8
  if rest == 0 then return {[8] = eights} end
  if rest == 1 then return eights == 1 and {[5] = 1, [4] = 1} or {[8] = eights - 1, [5] = 1, [4] = 1} end
  return {[8] = eights, [rest] = 1}
end

-- The together bound of n seats for a row or section whose best free seat is `top` and best clean
-- windows `clean` (clean[k][at], k = 2…8), -1 where one of its parts is missing. Never below the
-- true best TOGETHER placement's score. `parts`: togetherParts(n) when the caller has it.
local function togetherBound(n, top, clean, at, parts)
  local bound = 0
  for k, count in pairs(parts or togetherParts(n)) do
    local value = k == 1 and top or clean[k][at]
    if value < 0 then return -1 end
    bound = bound + count * value
  end
  return bound
end

-- A row's sort key in the together rungs, r - bound × ROW_KEY (bounds are at most n × 1,000,
-- or -1): ascending keys are descending bounds, then ascending rows, and key % ROW_KEY is r.

-- Reads ahead, in one HMGET, the fields of the next rows of `order` (from `at`) the search may
-- still visit: those `mayBeat` does not rule out yet (`order` holds only rows whose longest free
-- run fits n seats).
local PREFETCH_ROWS = 8
local function prefetchAhead(order, at, bounds, mayBeat)
  local rows = {}
  for i = at, #order do
    local r = order[i]
    if not mayBeat(bounds[r], r) then break end
    rows[#rows + 1] = r
    if #rows == PREFETCH_ROWS then break end
  end
  prefetchRows(rows)
end

-- The index in the section (from 0) of its first row whose slot field at byte `offset` (from 1)
-- holds `stored` (> 0, as stored), by a plain string.find of its two bytes; nil when none does.
local function firstRowHolding(index, offset, stored)
  if stored <= 0 then return nil end
  local slots = readSectionSlots(index)
  local needle = string.char(math.floor(stored / 256), stored % 256)
  local at = string.find(slots, needle, 1, true)
  while at and (at - offset) % SEATING_SLOT_BYTES ~= 0 do at = string.find(slots, needle, at + 1, true) end
  if not at then return nil end
  return (at - offset) / SEATING_SLOT_BYTES
end

--[[
  The first row of the section (lowest index) whose together bound for n seats is the section's
  own bound, found without decoding the section's rows, its slot fields decoded; nil when n's bound
  is not one slot field (n from 9: windows of 8 plus the rest), when the section has no such row
  (its slot's field is 0), or when that row cannot take n seats. For n = 1 the bound is the best
  free seat, for n = 2…8 the best clean window of n: the first row whose field equals the
  section slot's (the most of its rows') is found by a plain string.find of the field's two bytes
  at that field's offset in a slot.
]]
local function firstBestRow(index, n)
  if n > SEATING_CLEAN_MAX then return nil end
  -- Byte offset (from 1) of the field inside a slot: top at 3, clean[k] at 2 × its field - 1.
  local i = firstRowHolding(index, n == 1 and 3 or 2 * SEATING_CLEAN_FIELD[n] - 1,
    (n == 1 and sectionTops[index] or sectionClean[n][index]) + 1)
  if not i then return nil end
  local r = sectionInfo[index].firstRow + i
  -- The fields the search reads of this row: run, top, accessible top, and its clean window of n.
  local slots, at = readSectionSlots(index), SEATING_SLOT_BYTES * i
  local a, b, c, d = string.byte(slots, at + 1, at + 4)
  rowRuns[r], rowTops[r] = (a or 0) * 256 + (b or 0), (c or 0) * 256 + (d or 0) - 1
  rowAccessTops[r] = slotField(slots, at + 17) - 1
  if n >= 2 and rowRuns[r] >= n then
    local field = SEATING_CLEAN_FIELD[n]
    rowClean[n][r], rowCleanAt[n][r] = slotField(slots, at + 2 * field - 1) - 1, slotField(slots, at + 2 * field + 1)
  end
  if not rowUsable(r, n) then return nil end
  return r
end

-- Whether a one-row placement {score, position, {row index, first seat index, size}} leaves a
-- single free seat the noOrphanSeats rule counts (seatingSingleLeft: an unmarked one).
local function windowLeavesSingle(placement)
  local r, start, size = placement[3][1], placement[3][2], placement[3][3]
  local position = rowRecord(r).first + start - 1
  local info = redis.call('GETRANGE', seating.info, 8 * position, 8 * (position + size) - 1)
  local ids = {}
  for s = 0, size - 1 do
    local b1, b2, b3, b4 = string.byte(info, 8 * s + 1, 8 * s + 4)
    ids[#ids + 1] = tostring(((b1 * 256 + b2) * 256 + b3) * 256 + b4)
  end
  return seatingSingleLeft(seating, ids) ~= nil
end

local function searchTogether(n)
  local bestTogether, bestWithGap, bestWithGaps
  local function visit(r)
    if not rowUsable(r, n) then return end
    -- A party of 2…8 for a request that is not accessible: the row's best clean window of n (its
    -- slot) is its best TOGETHER window whenever its seats are unmarked, as no better or earlier
    -- clean window exists; its seat info is read for the n flags, not the row's seats scored.
    local cleanAt = n >= 2 and n <= SEATING_CLEAN_MAX and not accessible and rowCleanAt[n][r] or 0
    if cleanAt > 0 then
      local position = rowRecord(r).first + cleanAt - 1
      local info = redis.call('GETRANGE', seating.info, 8 * position, 8 * (position + n) - 1)
      local unmarked = true
      for k = 0, n - 1 do unmarked = unmarked and string.byte(info, 8 * k + 7) == 0 end
      if unmarked then
        -- The seats' info is kept for their ids, should this placement be chosen.
        local placement = {rowClean[n][r], position, {r, cleanAt, n}, info = info}
        if better(placement, bestTogether) then bestTogether = placement end
        return
      end
    end
    local windows = rowWindows(r, n, accessible)
    local first = rowRecord(r).first
    for singles = 0, 2 do
      local window = windows[singles]
      if window then
        local placement = {window[1], first + window[2] - 1, {r, window[2], n}}
        if singles == 0 and better(placement, bestTogether) then bestTogether = placement end
        if singles == 1 and better(placement, bestWithGap) then bestWithGap = placement end
        if singles == 2 and better(placement, bestWithGaps) then bestWithGaps = placement end
      end
    end
  end
  -- Whether a row (or a section whose first row is r) whose TOGETHER placements score at most
  -- `bound` may still beat the best one found: score higher, or the same at a lower layout
  -- position (rows and sections lie in layout order, so a lower row index). While none is
  -- found, every row is visited: the TOGETHER_WITH_GAP rung needs the best of them all.
  local function mayBeat(bound, r)
    if not bestTogether then return true end
    local score = bestTogether[1]
    return bound > score or (bound == score and r < bestTogether[3][1])
  end
  -- Sections by their bound (best first, then layout order), so the best placement is met early;
  -- each is skipped when its bound rules it out.
  local parts = togetherParts(n)
  local candidates, sectionBounds = {}, {}
  for i = 1, #sections do
    local index = sections[i]
    if sectionUsable(index, n) then
      sectionBounds[index] = togetherBound(n, sectionTops[index], sectionClean, index, parts)
      candidates[#candidates + 1] = index - sectionBounds[index] * ROW_KEY
    end
  end
  table.sort(candidates)
  for i = 1, #candidates do candidates[i] = candidates[i] % ROW_KEY end
  for _, index in ipairs(candidates) do
    local info = sectionInfo[index]
    local bound = sectionBounds[index]
    -- The section's first row whose bound is the section's, visited before the section's rows are
    -- decoded (firstBestRow): once the best placement reaches that bound (a row's best clean window
    -- of 2…8 unmarked seats always does) no other row of the section may beat it: the rows
    -- before that row have lower bounds, the rows after it at most the same bound at a higher
    -- layout position. So the section's other rows are neither decoded nor scanned.
    local firstRow = mayBeat(bound, info.firstRow) and firstBestRow(index, n) or nil
    local settled = false
    if firstRow then
      visit(firstRow)
      settled = bestTogether ~= nil
        and (bestTogether[1] > bound or (bestTogether[1] == bound and bestTogether[3][1] <= firstRow))
    end
    if not settled and mayBeat(bound, info.firstRow) then
      -- Rows are visited best bound first and the visit stops at the first that cannot beat the
      -- best placement; so only rows that may are sorted: the first row alone usually sets a
      -- bound that rules the others out. Two passes over the section's rows without building a
      -- list of them all: the first finds the row with the best bound (only while nothing is
      -- placed yet and firstBestRow did not find it), the second keeps the sort keys of the other
      -- rows that may still beat it.
      openSection(index)
      local from, to = info.firstRow, info.firstRow + info.rows - 1
      -- togetherBound for each row without a call per row: at most three parts (togetherParts),
      -- each a field table and a count. The passes read only rows whose longest free run fits n,
      -- which have every part's field.
      local t1, c1, t2, c2, t3, c3
      for k, count in pairs(parts) do
        if k > 1 then openClean(index, k) end
        local values = k == 1 and rowTops or rowClean[k]
        if not t1 then t1, c1 = values, count elseif not t2 then t2, c2 = values, count else t3, c3 = values, count end
      end
      local function rowBound(r)
        local bound = c1 * t1[r]
        if t2 then bound = bound + c2 * t2[r] end
        if t3 then bound = bound + c3 * t3[r] end
        return bound
      end
      local bounds = {}
      if not bestTogether and not firstRow then
        local firstKey
        for r = from, to do
          if rowUsable(r, n) then
            local bound = rowBound(r)
            bounds[r] = bound
            local key = r - bound * ROW_KEY
            if not firstKey or key < firstKey then firstKey = key end
          end
        end
        if firstKey then
          firstRow = firstKey % ROW_KEY
          visit(firstRow)
        end
      end
      local keys = {}
      for r = from, to do
        if rowUsable(r, n) and r ~= firstRow then
          local bound = bounds[r] or rowBound(r)
          if mayBeat(bound, r) then
            bounds[r] = bound
            keys[#keys + 1] = r - bound * ROW_KEY
          end
        end
      end
      table.sort(keys)
      local order = {}
      for i, key in ipairs(keys) do order[i] = key % ROW_KEY end
      for at, r in ipairs(order) do
        -- Keys ascend: bounds descend, rows ascend within a bound; the best only gets harder to beat.
        if not mayBeat(bounds[r], r) then break end
        if not rowRecords[r] and not rowFields[r] then prefetchAhead(order, at, bounds, mayBeat) end
        visit(r)
      end
    end
  end
  if bestTogether then return bestTogether, 'TOGETHER' end
  local withGap = bestWithGap or bestWithGaps
  if withGap then
    -- A window whose singles are all marked seats keeps the rule (a wheelchair space between
    -- its companion seats, for a wheelchair user alone).
    if not noOrphanSeats or not windowLeavesSingle(withGap) then return withGap, 'TOGETHER_WITH_GAP' end
    singleRefused = true
  end
  return nil
end

-- The best placement of `shares` (one per row) in the rows t, t + 1, …: each share side by side
-- in its row, leaving as few single seats as the row allows; nil when a row cannot take its share.
-- Also answers a bound on every placement of these shares in these rows (aligned or not): the sum
-- of each row's best window of its share, whatever the singles it leaves.
local function placeInRows(t, shares)
  -- The cached runs first: most row windows fail there, before any row's seats are read.
  for i = 1, #shares do
    if rowRuns[t + i - 1] < shares[i] then return nil end
  end
  local placement, bound = {0, nil, singles = 0}, 0
  for i = 1, #shares do
    local r = t + i - 1
    local windows = rowWindows(r, shares[i], accessible and i == 1)
    local singles = windows[0] and 0 or windows[1] and 1 or 2
    local window = windows[singles]
    if not window then return nil end
    placement[1] = placement[1] + window[1]
    placement.singles = placement.singles + singles
    local top = window[1]
    for singles = 1, 2 do
      if windows[singles] and windows[singles][1] > top then top = windows[singles][1] end
    end
    bound = bound + top
    local position = rowRecord(r).first + window[2] - 1
    if not placement[2] or position < placement[2] then placement[2] = position end
    placement[#placement + 1] = {r, window[2], shares[i]}
  end
  return placement, bound
end

-- Whether some placement of `shares` in the rows t, t + 1, … may beat `placement`, from the rows'
-- best free seats alone (no window read): its score is at most each share × its row's best free
-- quality, and its first seat lies in row t.
local function setMayBeat(t, shares, placement)
  local bound = 0
  for i = 1, #shares do bound = bound + shares[i] * rowTops[t + i - 1] end
  return bound > placement[1] or (bound == placement[1] and rowRecord(t).first < placement[2])
end

-- Whether a placement's shares (one per row) are aligned: some seat index of a row (the seat
-- number, as sections are grids numbered from 1) lies in every share, so the shares sit one behind
-- the other.
local function aligned(placement)
  local from, to = 1, math.huge
  for i = 3, #placement do
    local start, size = placement[i][2], placement[i][3]
    if start > from then from = start end
    if start + size - 1 < to then to = start + size - 1 end
  end
  return from <= to
end

-- Whether aligned placement a beats b: better(), then fewer single free seats left in all (two
-- sets of rows may tie on score and first seat: the same rows split front or back).
local function betterAligned(a, b)
  return not b or a[1] > b[1] or (a[1] == b[1] and (a[2] < b[2] or (a[2] == b[2] and a.singles < b.singles)))
end

-- Per seat index c of row r, the best window of `size` eligible seats side by side holding seat c
-- (for the first row of an accessible request, holding an accessible seat too): the fewest singles
-- left beside it, then the best score, then the first seat lowest. {singles = {}, score = {},
-- start = {}} by c, start nil where no window holds c. Built from the row's seats (one pass per
-- window start over its `size` seats), once per search, row and size (kept in `covers` by
-- r * 64 + size * 2 + 1 when the window needs an accessible seat: sizes are at most 20).
local function rowCover(r, size, needAccessible)
  local key = r * 64 + size * 2 + (needAccessible and 1 or 0)
  if covers[key] then return covers[key] end
  local row = openRow(r)
  local bits, eligible, quality, flags, seats = row.bits, row.eligible, row.quality, row.flags, row.seats
  local singlesOf, scoreOf = {}, {}
  local run = 0
  for s = 1, seats do
    run = eligible[s] and run + 1 or 0
    if run >= size then
      local start = s - size + 1
      local sum, accessibleSeats = 0, 0
      for k = start, s do
        sum = sum + quality[k]
        if flags[k] == 1 then accessibleSeats = accessibleSeats + 1 end
      end
      if not needAccessible or accessibleSeats > 0 then
        local singles = 0
        local left, right = start - 1, s + 1
        if left >= 1 and bits[left] and (left == 1 or not bits[left - 1]) then singles = singles + 1 end
        if right <= seats and bits[right] and (right == seats or not bits[right + 1]) then singles = singles + 1 end
        singlesOf[start], scoreOf[start] = singles, sum
      end
    end
  end
  local cover = {singles = {}, score = {}, start = {}}
  for c = 1, seats do
    local bestStart
    for start = math.max(1, c - size + 1), c do
      local singles = singlesOf[start]
      if singles and (not bestStart or singles < singlesOf[bestStart]
          or (singles == singlesOf[bestStart] and scoreOf[start] > scoreOf[bestStart])) then
        bestStart = start
      end
    end
    if bestStart then
      cover.singles[c], cover.score[c], cover.start[c] = singlesOf[bestStart], scoreOf[bestStart], bestStart
    end
  end
  covers[key] = cover
  return cover
end

-- The best aligned placement of `shares` in the rows t, t + 1, … (aligned: one seat index lies in
-- every share): the fewest singles left in all, then the best score, then the lowest layout
-- position; nil when none is aligned. For a given common seat index the rows choose alone, so each
-- index is scored from the rows' covers.
local function placeAligned(t, shares)
  local rowCovers, columns = {}, math.huge
  for i = 1, #shares do
    local r = t + i - 1
    rowCovers[i] = rowCover(r, shares[i], accessible and i == 1)
    columns = math.min(columns, rowRecord(r).seats)
  end
  local bestColumn, bestSingles, bestScore
  for c = 1, columns do
    local singles, score = 0, 0
    for i = 1, #shares do
      local cover = rowCovers[i]
      if not cover.start[c] then
        singles = nil
        break
      end
      singles, score = singles + cover.singles[c], score + cover.score[c]
    end
    if singles and (not bestColumn or singles < bestSingles or (singles == bestSingles and (score > bestScore
        or (score == bestScore and rowCovers[1].start[c] < rowCovers[1].start[bestColumn])))) then
      bestColumn, bestSingles, bestScore = c, singles, score
    end
  end
  if not bestColumn then return nil end
  local placement = {bestScore, rowRecord(t).first + rowCovers[1].start[bestColumn] - 1, singles = bestSingles}
  for i = 1, #shares do placement[i + 2] = {t + i - 1, rowCovers[i].start[bestColumn], shares[i]} end
  return placement
end

-- The runs of seats a request may take in row r, as {from, to, from, to, …} (seat indexes from 1,
-- in row order): free seats, marked exactly when the request is accessible. A row without marked
-- seats asked for without `accessible` needs only its bits, and its runs (its free runs) are
-- cached in its 'w<row>' field as the entry ';r:<from>,<to>,…;', dropped with the windows on every
-- change of its bits; any other reads its seats (openRow). Once per search and row.
local function eligibleRuns(r)
  local runs = eligibleRunsOf[r]
  if runs then return runs end
  local record = rowRecord(r)
  local plain = record.marked == 0 and not accessible
  runs = {}
  local cached = plain and string.match(record.cached, ';r:([%d,]*);')
  if cached then
    for from, to in string.gmatch(cached, '(%d+),(%d+)') do
      runs[#runs + 1], runs[#runs + 2] = tonumber(from), tonumber(to)
    end
  else
    local eligible
    if plain then
      eligible = rowSeats[r] and rowSeats[r].bits or seatingRowBits(seating.free, record.first, record.seats)
    else
      eligible = openRow(r).eligible
    end
    local from
    for s = 1, record.seats do
      if eligible[s] then
        from = from or s
      elseif from then
        runs[#runs + 1], runs[#runs + 2] = from, s - 1
        from = nil
      end
    end
    if from then runs[#runs + 1], runs[#runs + 2] = from, record.seats end
    if plain then
      record.cached = (record.cached == '' and ';' or record.cached) .. 'r:' .. table.concat(runs, ',') .. ';'
      redis.call('HSET', seating.layout, 'w' .. r, record.cached)
    end
  end
  eligibleRunsOf[r] = runs
  return runs
end

-- Whether rows r and r + 1 may hold aligned shares of `size` seats or more each: some run of each
-- at least `size` long overlaps one of the other (two runs lists in row order, merged). False
-- rules out every aligned placement whose rows hold both with shares of at least `size`.
local function mayAlign(r, size)
  local key = r * 64 + size
  local known = pairAligns[key]
  if known ~= nil then return known end
  local a, b = eligibleRuns(r), eligibleRuns(r + 1)
  local i, j, found = 1, 1, false
  while i < #a and j < #b do
    if a[i + 1] - a[i] + 1 < size then
      i = i + 2
    elseif b[j + 1] - b[j] + 1 < size then
      j = j + 2
    elseif a[i + 1] < b[j] then
      i = i + 2
    elseif b[j + 1] < a[i] then
      j = j + 2
    else
      found = true
      break
    end
  end
  pairAligns[key] = found
  return found
end

-- Whether a section whose placements score at most `bound` may beat `placement` (nil: none found
-- yet): a higher score, or the same from a section before the placement's first row (rows and
-- sections lie in layout order, so its placements all have a lower first position).
local function sectionMayBeat(bound, info, placement)
  return not placement or bound > placement[1] or (bound == placement[1] and info.firstRow < placement[3][1])
end

--[[
  ADJACENT_ROWS: shares in k consecutive rows of one section, k = 2, 3, … n. The shares aligned
  (one seat index, the seat number, in every share) at the fewest rows that allow it; only when no
  k does, the placement whose shares each take their row's best window (fewest singles, best
  score) at the fewest rows that allow any (the fallback, the rung as it was before alignment).
  Per set of rows and split, the rows' cached windows give the fallback's placement and a bound
  on every placement there (each row's best window, whatever its singles); when that placement is
  aligned it is also the best aligned one there. Other sets are kept with their bound and, once
  the section's sets are scanned, scored exactly (placeAligned, from the rows' seats) best bound
  first, until no bound left can beat the best aligned placement found; a set holding two adjacent
  rows whose runs long enough for the smallest share do not overlap (mayAlign, from the rows'
  cached runs) has none and is not kept. While no aligned placement is found and the fallback is
  not wanted (a later k, or a section that cannot beat the fallback found), mayAlign is asked
  first, so such sets cost no window reads. The fallback's sets are placed only at the first k
  with any placement.
  The aligned search is best effort within ALIGN_BUDGET units of work per call: one per set of
  rows it visits (each k, section and first row, splits together) and one per set it scores
  exactly (placeAligned). The unit that would pass the budget is not spent: the rung answers the
  best aligned placement found so far if any, else goes on as the rung without alignment (each
  row's best window at the fewest rows that allow any, sections ruled out by n × their best seat
  against the best found). So the no-aligned worst case costs the old rung plus the budget.
]]
local function searchAdjacentEqual(n)
  covers, eligibleRunsOf, pairAligns = {}, {}, {}
  local fallback
  local spent, aligning = 0, true
  -- One unit of aligned work: false (and aligning off) once the budget is spent.
  local function spend()
    if aligning and spent < ALIGN_BUDGET then
      spent = spent + 1
      return true
    end
    aligning = false
    return false
  end
  for k = 2, n do
    local front, back = {}, {}
    for i = 1, k do
      front[i] = math.floor(n / k) + ((i <= n % k) and 1 or 0)
      back[k + 1 - i] = front[i]
    end
    local splits = (n % k == 0) and {front} or {front, back}
    local best, unaligned
    for _, index in ipairs(sections) do
      local info = sectionInfo[index]
      -- n × the section's best free seat bounds its placements: aligned ones against the best
      -- aligned found, the fallback's (only wanted while no aligned one was found and no k before
      -- had a placement) against the best found. Sections come best seat first: a bound below a
      -- placement's score ends the visit, one equal to it may still win on layout position.
      local bound = n * sectionTops[index]
      if (best and bound < best[1]) or (not aligning and unaligned and bound < unaligned[1]) then break end
      local fallbackWanted = not best and not fallback and sectionMayBeat(bound, info, unaligned)
      if sectionMayBeat(bound, info, best) and (aligning or sectionMayBeat(bound, info, unaligned))
          and info.rows >= k and sectionUsable(index, front[k]) then
        openSection(index)
        -- Sets of rows and shares whose fallback placement is not aligned: sort keys, bound
        -- first (descending), then the first row, then the split.
        local pending, bounds = {}, {}
        -- Every share is at least the smallest (front[k]): a row whose longest free run is
        -- shorter fails every set of rows holding it, so the next set to try starts past it.
        local smallest, last = front[k], info.firstRow + info.rows - k
        -- Past the aligned search, a section whose bound only ties the fallback found can win only
        -- on layout position, with a set whose rows all hold the section's best free seat (a share
        -- scores at most its size × its row's best seat): the other rows are skipped as too short.
        -- (Not while aligning: skipped sets would not spend the budget they spend now.) Such a
        -- row reads as having no run.
        local runs = rowRuns
        if not aligning and not best and unaligned and bound == unaligned[1] then
          local top = sectionTops[index]
          runs = setmetatable({}, {__index = function(_, r)
            return rowTops[r] < top and 0 or rowRuns[r]
          end})
        end
        -- A set's placement from its rows' best windows: the best aligned one there when aligned;
        -- else the set is kept for placeAligned while its bound may beat the best aligned found and
        -- its adjacent rows may hold aligned shares.
        local function keepAligned(t, s, placement, bound)
          if aligned(placement) then
            if betterAligned(placement, best) then best = placement end
            return
          end
          if best and (bound < best[1] or (bound == best[1] and rowRecord(t).first > best[2])) then return end
          for r = t, t + k - 2 do
            if not mayAlign(r, smallest) then return end
          end
          local key = 2 * t + s - 1 - bound * 2 * ROW_KEY
          pending[#pending + 1] = key
          bounds[key] = bound
        end
        local t = info.firstRow
        while t <= last do
          local short
          for r = t + k - 1, t, -1 do
            if runs[r] < smallest then
              short = r
              break
            end
          end
          if short then
            t = short + 1
          elseif accessible and rowAccessTops[t] < 0 then
            -- The first row's share must hold an accessible seat, and this row has none free.
            t = t + 1
          elseif not fallbackWanted and not best and not spend() then
            -- Budget spent with no aligned placement: the fallback found (at an earlier k, or
            -- at this one in sections this one's bound cannot beat) is the answer.
            return fallback or unaligned, 'ADJACENT_ROWS'
          elseif not fallbackWanted and not best then
            -- Only an aligned placement is wanted and none was found yet (often none exists): none
            -- holds two adjacent rows apart (mayAlign, cached per row across k), so the rows'
            -- windows are read only for sets that may have one. Once one was found, most sets are
            -- ruled out by their bound from the windows alone (keepAligned).
            local apart
            for r = t + k - 2, t, -1 do
              if not mayAlign(r, smallest) then
                apart = r
                break
              end
            end
            if apart then
              t = apart + 1
            else
              for s, shares in ipairs(splits) do
                local placement, bound = placeInRows(t, shares)
                if placement then keepAligned(t, s, placement, bound) end
              end
              t = t + 1
            end
          else
            -- Without budget left, the fallback's sets alone (the rung without alignment).
            local align = aligning and spend()
            if not align and best then return best, 'ADJACENT_ROWS' end
            for s, shares in ipairs(splits) do
              -- Without alignment, a set whose bound from its rows' best free seats cannot beat the
              -- fallback found is not read (on a venue of many short rows most sets are such).
              if align or not unaligned or setMayBeat(t, shares, unaligned) then
                local placement, bound = placeInRows(t, shares)
                if placement then
                  if better(placement, unaligned) then unaligned = placement end
                  if align then keepAligned(t, s, placement, bound) end
                end
              end
            end
            t = t + 1
          end
        end
        if aligning then
          table.sort(pending)
          for _, key in ipairs(pending) do
            local bound, first, s = bounds[key], math.floor((key % (2 * ROW_KEY)) / 2), key % 2 + 1
            if best and (bound < best[1] or (bound == best[1] and rowRecord(first).first > best[2])) then break end
            if not spend() then break end
            local placement = placeAligned(first, splits[s])
            if placement and betterAligned(placement, best) then best = placement end
          end
        end
        if best and not aligning then return best, 'ADJACENT_ROWS' end
      end
    end
    if best then return best, 'ADJACENT_ROWS' end
    fallback = fallback or unaligned
    if fallback and not aligning then return fallback, 'ADJACENT_ROWS' end
  end
  if fallback then return fallback, 'ADJACENT_ROWS' end
  return nil
end

--[[
  ADJACENT_ROWS leaving no single free seat, by any split (found by the seating trial of
  2026-12-06, M3: in rows of three seats, 2 + 2 leaves two singles where 3 + 1 leaves none). Tried
  only when searchAdjacentEqual's answer leaves a single or it found none: the shares of n seats in
  k consecutive rows of one section, each share at least one seat, side by side in its row and
  leaving no single beside it (its row's best clean window of that size, rowWindows); the fewest
  rows, then the best score, then the lowest layout position. Per first row t of a set, one pass
  down the rows t, t + 1, … keeps per count of seats placed the best shares so far (the best
  score over every split at once), so a first row costs its rows × n × the sizes tried. Shares
  are not aligned (a clean placement is preferred to an aligned one leaving a single). Bounded by
  CLEAN_BUDGET units (one per first row visited and one per row added to a set): past it the best
  clean placement found so far, if any (sections in the order of their best free seat).
]]
local function searchAdjacentClean(n)
  if n < 2 then return nil end
  local best
  local spent = 0
  for _, index in ipairs(sections) do
    local info = sectionInfo[index]
    -- A placement scores at most n × the section's best free seat: at the fewest rows possible
    -- (2), a section below the best found cannot beat it; sections come best seat first.
    if best and best.k == 2 and n * sectionTops[index] < best[1] then break end
    if info.rows >= 2 and sectionUsable(index, 1) then
      openSection(index)
      local lastRow = info.firstRow + info.rows - 1
      for t = info.firstRow, lastRow - 1 do
        spent = spent + 1
        if spent > CLEAN_BUDGET then return best end
        -- A set has two rows at least: a first row whose next row has no free seat is not read (in
        -- a near-full venue of free seats in alternate rows, none is).
        -- Once a placement was found in two rows (the fewest), only a set of two rows from t may
        -- beat it, scoring at most n × the better best free seat of rows t and t + 1: below it,
        -- t is not read.
        local mayBeat = not best or best.k > 2 or n * math.max(rowTops[t], rowTops[t + 1]) >= best[1]
        if mayBeat and rowRuns[t] >= 1 and rowRuns[t + 1] >= 1 and (not accessible or rowAccessTops[t] >= 0) then
          -- layers[i][m]: the best shares of m seats in rows t … t + i - 1, as its last share
          -- {score, first position, size, first seat index, m before it}.
          local layers = {[0] = {[0] = {0, nil}}}
          local maxK = math.min(n, lastRow - t + 1, best and best.k or n)
          for i = 1, maxK do
            if i > 1 then
              spent = spent + 1
              if spent > CLEAN_BUDGET then return best end
            end
            local r = t + i - 1
            if rowRuns[r] < 1 then break end
            local before, layer, any = layers[i - 1], {}, false
            for size = 1, math.min(rowRuns[r], n - i + 1) do
              local window = rowWindows(r, size, accessible and i == 1)[0]
              if window then
                local position = rowRecord(r).first + window[2] - 1
                for m = i - 1, n - size do
                  local from = before[m]
                  if from then
                    local score, first = from[1] + window[1], from[2] or position
                    local held = layer[m + size]
                    if not held or score > held[1] or (score == held[1] and first < held[2]) then
                      layer[m + size] = {score, first, size, window[2], m}
                      any = true
                    end
                  end
                end
              end
            end
            if not any then break end
            layers[i] = layer
            local whole = layer[n]
            if i >= 2 and whole and (not best or i < best.k or whole[1] > best[1]
                or (whole[1] == best[1] and whole[2] < best[2])) then
              best = {whole[1], whole[2], k = i, singles = 0}
              local m = n
              for j = i, 1, -1 do
                local share = layers[j][m]
                best[j + 2] = {t + j - 1, share[4], share[3]}
                m = share[5]
              end
              -- No later row of this set can give fewer rows.
              break
            end
          end
        end
      end
    end
  end
  return best
end

--[[
  ADJACENT_ROWS: searchAdjacentEqual's answer (equal shares) when it leaves no single free seat;
  else the clean placement of any split (searchAdjacentClean) if there is one; else that answer.
]]
local function searchAdjacentRows(n)
  local placement = searchAdjacentEqual(n)
  if placement and placement.singles == 0 then return placement, 'ADJACENT_ROWS' end
  local clean = searchAdjacentClean(n)
  if clean then return clean, 'ADJACENT_ROWS' end
  if placement then return placement, 'ADJACENT_ROWS' end
  return nil
end

-- The best free accessible seat in scope (highest quality, then lowest layout position), found
-- from the sections' and rows' accessible tops (one string.find in one section's row slots, one
-- row read): {quality, position, row index, seat index, flags}; nil when none is free.
local function bestAccessibleSeat()
  local best
  for _, index in ipairs(sections) do
    local top = sectionAccessTops[index]
    if top >= 0 and (not best or top > sectionAccessTops[best] or (top == sectionAccessTops[best] and index < best)) then
      best = index
    end
  end
  if not best then return nil end
  local quality = sectionAccessTops[best]
  local i = firstRowHolding(best, 17, quality + 1)
  if not i then return nil end
  local r = sectionInfo[best].firstRow + i
  local row = openRow(r)
  for s = 1, row.seats do
    if row.bits[s] and row.flags[s] == 1 and row.quality[s] == quality then return {quality, row.first + s - 1, r, s, 1} end
  end
  return nil
end

local function searchSplit(n)
  -- The n best eligible free seats: {quality, position, row index, seat index}, best first.
  local kept = {}
  local function keep(seat)
    local at = #kept + 1
    while at > 1 and (seat[1] > kept[at - 1][1] or (seat[1] == kept[at - 1][1] and seat[2] < kept[at - 1][2])) do
      at = at - 1
    end
    if at <= n then
      table.insert(kept, at, seat)
      if #kept > n then table.remove(kept) end
    end
  end
  -- Whether a section or row whose best free seat is `top` and first row r may still displace the
  -- worst seat kept: a better seat, or as good and before it in layout (rows lie in layout order).
  -- Sections and rows come best seat first, so once `top` is below the worst kept none can.
  local function mayDisplace(top, r)
    local worst = kept[n]
    return #kept < n or top > worst[1] or (top == worst[1] and r < worst[3])
  end
  for _, index in ipairs(sections) do
    if #kept == n and sectionTops[index] < kept[n][1] then break end
    -- An accessible request reads only sections and rows holding a marked seat (sold or not).
    if mayDisplace(sectionTops[index], sectionInfo[index].firstRow) and sectionRun(index) >= 1
        and (not accessible or sectionInfo[index].marked > 0) then
      for _, r in ipairs(sectionOrder(index)) do
        if #kept == n and rowTops[r] < kept[n][1] then break end
        if mayDisplace(rowTops[r], r) and rowRuns[r] >= 1 and (not accessible or rowRecord(r).marked > 0) then
          local row = openRow(r)
          for i = 1, row.seats do
            if row.eligible[i] then
              local seat = {row.quality[i], row.first + i - 1, r, i, row.flags[i]}
              keep(seat)
            end
          end
        end
      end
    end
  end
  if #kept < n then return nil end
  if accessible then
    local hasAccessible = false
    for _, seat in ipairs(kept) do hasAccessible = hasAccessible or seat[5] == 1 end
    if not hasAccessible then
      local bestAccessible = bestAccessibleSeat()
      if not bestAccessible then return nil end
      kept[n] = bestAccessible
    end
  end
  local placement = {0, nil}
  for _, seat in ipairs(kept) do
    placement[1] = placement[1] + seat[1]
    if not placement[2] or seat[2] < placement[2] then placement[2] = seat[2] end
    placement[#placement + 1] = {seat[3], seat[4], 1}
  end
  return placement, 'SPLIT'
end

-- Why nothing fit, read on the refusal path only from the sections' slots the last search loaded:
-- 'SOLD_OUT' when no seat of the scope is free; for an accessible request, 'NO_ACCESSIBLE' when
-- the scope has no wheelchair space at all (sold or not: its rows holding marked seats are read,
-- each one GETRANGE of its seat info); for a request that is not accessible,
-- 'ACCESSIBLE_ONLY' when free seats it may not take (marked) are in the scope; else nil. The
-- slots carry the best free accessible seat, not companion seats: a section with marked seats
-- and none of them a free accessible seat has its marked rows with a free seat read.
local function noFitReason()
  local anyFree = false
  for _, index in ipairs(sections) do
    if sectionTops[index] >= 0 then
      anyFree = true
      break
    end
  end
  if not anyFree then return 'SOLD_OUT' end
  if accessible then
    -- No wheelchair space at all in the scope (sold or not), rather than none free now (the
    -- seating trial of 2026-12-06, L2): static data only, the rows holding marked seats.
    for _, index in ipairs(sections) do
      if sectionAccessTops[index] >= 0 then return nil end
      if sectionInfo[index].marked > 0 then
        local info = sectionInfo[index]
        local names = {}
        for r = info.firstRow, info.firstRow + info.rows - 1 do
          if not rowRecords[r] and not rowFields[r] then names[#names + 1] = r end
        end
        prefetchRows(names)
        for r = info.firstRow, info.firstRow + info.rows - 1 do
          local record = rowRecord(r)
          if record.marked > 0 then
            local bytes = redis.call('GETRANGE', seating.info, 8 * record.first, 8 * (record.first + record.seats) - 1)
            for s = 1, record.seats do
              if string.byte(bytes, 8 * s - 1) % 2 == 1 then return nil end
            end
          end
        end
      end
    end
    return 'NO_ACCESSIBLE'
  end
  for _, index in ipairs(sections) do
    if sectionTops[index] >= 0 and sectionInfo[index].marked > 0 then
      if sectionAccessTops[index] >= 0 then return 'ACCESSIBLE_ONLY' end
      local rows = sectionOrder(index)
      prefetchRows(rows)
      for _, r in ipairs(rows) do
        if rowRecord(r).marked > 0 then
          -- openRow keeps flags of free seats only.
          for _, flag in pairs(openRow(r).flags) do
            if flag ~= 0 then return 'ACCESSIBLE_ONLY' end
          end
        end
      end
    end
  end
  return nil
end

local function search()
  singleRefused = false
  loadSections()
  local placement, arrangement = searchTogether(quantity)
  if not placement then placement, arrangement = searchAdjacentRows(quantity) end
  if not placement and not together then placement, arrangement = searchSplit(quantity) end
  return placement, arrangement
end

-- The chosen seats' letters are checked against the bitmap's answer; a seat the bitmap called
-- free but whose letter is not A (a script that changed letters without the seating data) is
-- marked taken and the search runs again on fresh data.
local seatIds, arrangement, places, rows
for _ = 1, 3 do
  local placement
  placement, arrangement = search()
  if not placement then
    if singleRefused then return {'NO_FIT', 'SINGLE_LEFT'} end
    return {'NO_FIT', noFitReason()}
  end
  -- The chosen seats: {layout position, row index, id}.
  local chosen = {}
  rows = {}
  for i = 3, #placement do
    local r, start, size = placement[i][1], placement[i][2], placement[i][3]
    local record = rowRecord(r)
    local position = record.first + start - 1
    -- The chosen seats' ids: their own bytes of the seat info (read by the search for a window
    -- taken from its slot), not the whole row's.
    local info = (#placement == 3 and placement.info)
      or redis.call('GETRANGE', seating.info, 8 * position, 8 * (position + size) - 1)
    for s = 0, size - 1 do
      local b1, b2, b3, b4 = string.byte(info, 8 * s + 1, 8 * s + 4)
      chosen[#chosen + 1] = {position + s, r, ((b1 * 256 + b2) * 256 + b3) * 256 + b4}
    end
    rows[r] = {
      first = record.first, seats = record.seats, section = record.section, sectionRecord = sectionInfo[record.section],
    }
  end
  -- One row's window lists its seats in layout order already.
  if #placement > 3 then table.sort(chosen, function(a, b) return a[1] < b[1] end) end
  local ids = {}
  places = {}
  for i = 1, #chosen do
    ids[i] = tostring(chosen[i][3])
    places[i] = chosen[i]
  end
  local letters = redis.call('HMGET', seatsKey, unpack(ids))
  local stale = {}
  for i = 1, #ids do
    if letters[i] ~= 'A' then stale[#stale + 1] = ids[i] end
  end
  if #stale == 0 then
    seatIds = ids
    break
  end
  seatingMark(seating, stale, false)
end
if not seatIds then return {'NO_FIT'} end
-- noOrphanSeats: TOGETHER leaves no single by its definition and TOGETHER_WITH_GAP is skipped; a
-- placement of the later rungs that leaves one is refused as a seat-id hold would be.
if noOrphanSeats and arrangement ~= 'TOGETHER' and seatingSingleLeft(seating, seatIds) then
  return {'NO_FIT', 'SINGLE_LEFT'}
end

local taking = {
  seats = seatsKey, prices = pricesKey, counts = countsKey, expiry = expiryKey,
  userHolds = userHoldsKey, hold = holdKey, seatHolds = seatHoldsKey, seating = seating,
  userIndex = indexUntil and KEYS[14],
}
local expiresAt, amount, prices = takeHold(taking, {
  id = holdId, userId = userId, performanceId = performanceId, seatIds = seatIds, currency = currency,
  now = now, lifetime = lifetime, retention = retention, closesAt = meta[5] and tonumber(meta[5]),
  arrangement = arrangement, places = places, rows = rows,
  indexUntil = indexUntil, presale = presale, newUserHolds = newUserHolds,
})
if presale then presaleCount(metaKey, presale, #seatIds) end
local seatList = table.concat(seatIds, ',')
if recordKey then
  keepAnswer(recordKey, request, holdId, expiresAt, amount, currency, prices, seatList, arrangement, retention)
end
return {'OK', expiresAt, amount, currency, arrangement, seatList, prices}
