--[[
  The available seats of one performance after a layout position, for a `?status=AVAILABLE` seat
  page, from the best-available free bitmap (docs/seating.md), which every script changing a seat
  letter keeps equal to "letter is A" in the same run: the work is the page's seats plus a pass
  over the bitmap's bytes (zero bytes, eight taken seats each, are skipped by one string.find),
  not a status read per seat looked at. Each seat the bitmap finds is checked against its letter
  (its id from the seat info), so a bit wrongly 1 (a letter written past the scripts) never shows
  a taken seat as available.

  A seat still marked held by a hold that has expired is available too (the next hold takes it),
  though its bit is 0 until the sweeper frees it. Such seats belong to the holds of the expiry
  index scored at or before now; their records must come in KEYS, so a call that finds one not
  passed answers HOLDS with the ids, and the caller calls again with them (as hold-seats.lua's
  END_HOLDS). Each of their seats still H whose holder entry expired by now is added, as
  SeatStateStore.statuses counts it, except an operator's hold's house seats (its record's
  `fromBlock`, read in the same HMGET as its `seats`) while its holder entry names that hold: they
  go back to their block when the hold ends (blockSeatsAgain), so they read as blocked, not
  available. Nothing is written.

  KEYS[1] meta        hash of the performance; `currency` present = registered
  KEYS[2] seating     static layout hash: 'ready' = the data's format once the bitmap is built,
                      '<seat id>' -> '<bit>,<row index>'
  KEYS[3] free        bitmap: bit b = 1 while the seat at layout position b + 1 has letter A (bit 0
                      is the most significant bit of byte 0)
  KEYS[4] seat info   static, 8 bytes per layout position: seat id (u32, big-endian), …
  KEYS[5] expiry      sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[6] seats       hash seat id -> status letter (A available, H held, S sold)
  KEYS[7] seat holds  hash seat id -> '<expiresAt (epoch ms)>:<hold id>' of the hold that took it
  KEYS[8..]           records of holds named in ARGV[6..], in the same order: seats (comma-
                      separated), fromBlock (an operator's hold: the house seats it took out of
                      their block, comma-separated; absent for others)

  ARGV[1] after: the layout position the seats come after (0 = from the first)
  ARGV[2] want: how many available seats to answer at most (>= 1)
  ARGV[3] last: the last layout position to look at (>= after)
  ARGV[4] the seating data's format the bitmap must be of (SEATING_FORMAT)
  ARGV[5] how many expired holds a call takes in KEYS at most; with more, it answers NO_INDEX
  ARGV[6..] the ids of the hold records in KEYS[8..]

  Returns one of
    {'OK', looked, p1, p2, ...}  the available seats' positions, ascending, after `after` and at
                                 most `last`, at most `want`: `looked` is the last position looked
                                 at (the last one answered when `want` were found, else `last`, or
                                 the last checked when MOST_CHECKED letters were checked first)
    {'HOLDS', id, ...}           expired holds whose records were not passed: call again with them
    {'NO_INDEX'}                 no bitmap of this format (registration not done, data lost, an
                                 older format) or more expired holds than ARGV[5]: read the letters
    {'NO_PERFORMANCE'}           not registered
]]
--- @keys variable
--- @include "redis-time"
local metaKey, seatingKey, freeKey, seatInfoKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local expiryKey, seatsKey, seatHoldsKey = KEYS[5], KEYS[6], KEYS[7]
local after, want, last = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local format, mostHolds = ARGV[4], tonumber(ARGV[5])
-- Bytes of the bitmap read per GETRANGE: 8,192 seats.
local CHUNK = 1024
-- Letters one call checks at most: past it (only when many bits were wrongly 1), it answers what
-- it found and the last position it checked.
local MOST_CHECKED = 4096
local MASKS = {128, 64, 32, 16, 8, 4, 2, 1}
-- Candidates whose positions lie within this many of a run's first have their seat info read in
-- one GETRANGE (at most 4 KB): one call per seat was most of a page's time in Redis.
local INFO_SPAN = 512

if not redis.call('HGET', metaKey, 'currency') then return {'NO_PERFORMANCE'} end
if redis.call('HGET', seatingKey, 'ready') ~= format then return {'NO_INDEX'} end

local now = redisNow()
local expired = redis.call('ZRANGEBYSCORE', expiryKey, '-inf', now, 'LIMIT', 0, mostHolds + 1)
if #expired > mostHolds then return {'NO_INDEX'} end
local passed = {}
for i = 6, #ARGV do passed[ARGV[i]] = KEYS[i + 2] end
local missing = {'HOLDS'}
for _, holdId in ipairs(expired) do
  if not passed[holdId] then missing[#missing + 1] = holdId end
end
if #missing > 1 then return missing end

-- Seats of expired holds still marked H by them: available, though their bits are 0; but not a
-- house seat ('<seat id>:<hold id>' in `house`) while the hold that took it from its block holds it.
local seatLists, house = {}, {}
for _, holdId in ipairs(expired) do
  local record = redis.call('HMGET', passed[holdId], 'seats', 'fromBlock')
  if record[1] then seatLists[#seatLists + 1] = record[1] end
  if record[2] then
    for seatId in string.gmatch(record[2], '%d+') do house[seatId .. ':' .. holdId] = true end
  end
end
local extra, seen = {}, {}
for _, seatList in ipairs(seatLists) do
  for seatId in string.gmatch(seatList, '%d+') do
    if redis.call('HGET', seatsKey, seatId) == 'H' then
      local holder = redis.call('HGET', seatHoldsKey, seatId)
      local expiresAt, holderId = string.match(holder or '', '^(%d+):(.*)$')
      if expiresAt and tonumber(expiresAt) <= now and not house[seatId .. ':' .. holderId] then
        local place = redis.call('HGET', seatingKey, seatId)
        if not place then return {'NO_INDEX'} end
        local position = tonumber(string.match(place, '^%d+')) + 1
        if position > after and position <= last and not seen[position] then
          seen[position] = true
          extra[#extra + 1] = position
        end
      end
    end
  end
end

-- The bits of positions after+1 .. last are bits after .. last-1. `nextBit` is the first one the
-- scan has not looked at yet.
local nextBit, lastBit = after, last - 1
-- Up to `need` positions whose bits are 1, in order, from nextBit on.
local function candidates(need)
  local out = {}
  while #out < need and nextBit <= lastBit do
    local firstByte = math.floor(nextBit / 8)
    local chunkEnd = math.min(firstByte + CHUNK - 1, math.floor(lastBit / 8))
    local text = redis.call('GETRANGE', freeKey, firstByte, chunkEnd)
    local i = string.find(text, '[^%z]')
    while i and #out < need do
      local byte = string.byte(text, i)
      local base = (firstByte + i - 1) * 8
      for k = 1, 8 do
        local b = base + k - 1
        if b >= nextBit and b <= lastBit and bit.band(byte, MASKS[k]) ~= 0 then
          out[#out + 1] = b + 1
          nextBit = b + 1
          if #out == need then break end
        end
      end
      if #out < need then i = string.find(text, '[^%z]', i + 1) end
    end
    if #out < need then
      -- The chunk is done; a bitmap shorter than the range has no free seat past its end.
      nextBit = #text < chunkEnd - firstByte + 1 and lastBit + 1 or (chunkEnd + 1) * 8
    end
  end
  return out
end

-- Candidates are checked against their letters (the truth; the bitmap only finds them), in
-- batches, so a seat whose bit were wrongly 1 is never answered.
local found = {}
local checked, lastChecked = 0, nil
while #found < want and checked < MOST_CHECKED do
  local batch = candidates(math.min(want - #found, MOST_CHECKED - checked))
  if #batch == 0 then break end
  -- The ids as text ('%d'): a number argument is formatted by Redis with '%.17g', several times dearer.
  local ids = {}
  local j = 1
  while j <= #batch do
    local first, k = batch[j], j
    while k < #batch and batch[k + 1] - first < INFO_SPAN do k = k + 1 end
    local info = redis.call('GETRANGE', seatInfoKey, (first - 1) * 8, (batch[k] - 1) * 8 + 3)
    for m = j, k do
      local at = (batch[m] - first) * 8
      if #info < at + 4 then return {'NO_INDEX'} end
      local b1, b2, b3, b4 = string.byte(info, at + 1, at + 4)
      ids[m] = string.format('%d', ((b1 * 256 + b2) * 256 + b3) * 256 + b4)
    end
    j = k + 1
  end
  local letters = redis.call('HMGET', seatsKey, unpack(ids))
  for j, position in ipairs(batch) do
    if letters[j] == 'A' then found[#found + 1] = position end
  end
  checked = checked + #batch
  lastChecked = batch[#batch]
end
-- Looked up to `last`, unless the letter checks ran out first.
local looked = (#found < want and checked >= MOST_CHECKED) and lastChecked or last

for _, position in ipairs(extra) do
  if position <= looked then found[#found + 1] = position end
end
if #extra > 0 then table.sort(found) end
local reply = {'OK', looked}
for i = 1, math.min(#found, want) do reply[i + 2] = found[i] end
if #found >= want then reply[2] = found[want] end
return reply
