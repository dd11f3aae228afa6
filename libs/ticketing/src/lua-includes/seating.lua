--[[
  The best-available seating data of one performance (docs/seating.md), kept beside the seat
  letters so a search reads only the rows it may use. `seating` is a table of four keys:

    seating.free    string: bit b = 1 while the seat at layout position b + 1 is AVAILABLE (letter
                    A); bit 0 is the most significant bit of byte 0, as SETBIT counts
    seating.layout  hash (static, written at registration): '<seat id>' -> '<bit>,<row index>';
                    'r<row index>' -> '<first bit>,<seats>,<section index>,<best quality>,<marked seats>';
                    's<section index>' -> '<first row index>,<rows>,<best quality>,<slot>,<marked seats>';
                    row and section indexes count from 0, rows of a section are consecutive;
                    live: 'w<row index>' -> the row's best windows as hold-best-available.lua
                    computed them from its bits (a cache it writes), deleted with every change of
                    the row's bits
    seating.runs    string of 34-byte slots, seventeen big-endian u16 each: the longest run of
                    free seats; 1 + the best quality among the free seats (0: none free); 1 + the
                    best quality sum of two free seats side by side that leave no single free seat
                    beside them (a clean pair; 0: none); the row's seat index (from 1) of the first
                    seat of that best clean pair, the lowest of equal ones (0: none); the same two
                    fields for three seats (a clean triple) and four (a clean quad); 1 + the best
                    quality among the free seats marked accessible (0: none); then the same two
                    fields for clean windows of 5, 6, 7 and 8 seats. Slot r for row r, slot <slot>
                    of a section for the most of its rows' (each field on its own; the first-seat
                    fields 0). The clean window fields bound a TOGETHER placement of any size
                    (hold-best-available.lua, togetherBound), exactly up to 8 seats
    seating.info    string, 8 bytes per layout position: seat id (u32), quality (u16), flags (u8:
                    1 accessible, 2 companion), 0; big-endian (static)

  A performance registered without the layout has no such fields: every function then changes
  nothing. Functions:
    seatingRowBits(freeKey, first, seats)    {true|false, ...}: the free bits of one row
    seatingSlot(bytes, i)                    the seventeen fields of the i-th slot (from 0) of
                                             `bytes`, as stored: run, top, clean pair, its first
                                             seat, clean triple, its first seat, clean quad, its
                                             first seat, accessible top, then clean windows of 5,
                                             6, 7, 8 seats, each with its first seat
    seatingRefreshRow(seating, row)          rewrites the row's slot from its bits, and its
                                             section's slot when the row's changed; drops the
                                             row's cached windows
    seatingMark(seating, seatIds, free)      sets the seats' bits (free = true: 1) and refreshes
                                             their rows; seat ids without a layout entry are skipped
]]
local SEATING_MASKS = {128, 64, 32, 16, 8, 4, 2, 1}

-- The bytes of `text` as numbers (index from 1). One string.byte call answers them all when
-- that fits Lua's C stack (LUAI_MAXCSTACK, 8,000 values), far cheaper than one call per byte.
local function seatingBytes(text)
  if #text <= 4000 then return {string.byte(text, 1, -1)} end
  local bytes = {}
  for i = 1, #text do bytes[i] = string.byte(text, i) end
  return bytes
end

local function seatingRowBits(freeKey, first, seats)
  local firstByte = math.floor(first / 8)
  local lastByte = math.floor((first + seats - 1) / 8)
  local bytes = seatingBytes(redis.call('GETRANGE', freeKey, firstByte, lastByte))
  local bits = {}
  local i, from = 1, first % 8
  for b = 1, lastByte - firstByte + 1 do
    local byte = bytes[b] or 0
    for k = from + 1, 8 do
      if i > seats then break end
      bits[i] = bit.band(byte, SEATING_MASKS[k]) ~= 0
      i = i + 1
    end
    from = 0
  end
  return bits
end

-- Bytes per slot of seating.runs, and fields (u16) per slot.
local SEATING_SLOT_BYTES = 34
local SEATING_SLOT_FIELDS = 17
-- The largest party whose best clean window a slot carries.
local SEATING_CLEAN_MAX = 8
-- The slot field (from 1) of the best clean window of k seats (k = 2…8); its first seat is the next.
local SEATING_CLEAN_FIELD = {nil, 3, 5, 7, 10, 12, 14, 16}
-- The fields a section's slot holds the most of (the others, first seats, are 0 there).
local SEATING_MOST_FIELDS = {1, 2, 3, 5, 7, 9, 10, 12, 14, 16}

local function seatingSlot(bytes, i)
  local b = {string.byte(bytes, SEATING_SLOT_BYTES * i + 1, SEATING_SLOT_BYTES * i + SEATING_SLOT_BYTES)}
  return (b[1] or 0) * 256 + (b[2] or 0), (b[3] or 0) * 256 + (b[4] or 0), (b[5] or 0) * 256 + (b[6] or 0),
    (b[7] or 0) * 256 + (b[8] or 0), (b[9] or 0) * 256 + (b[10] or 0), (b[11] or 0) * 256 + (b[12] or 0),
    (b[13] or 0) * 256 + (b[14] or 0), (b[15] or 0) * 256 + (b[16] or 0), (b[17] or 0) * 256 + (b[18] or 0),
    (b[19] or 0) * 256 + (b[20] or 0), (b[21] or 0) * 256 + (b[22] or 0), (b[23] or 0) * 256 + (b[24] or 0),
    (b[25] or 0) * 256 + (b[26] or 0), (b[27] or 0) * 256 + (b[28] or 0), (b[29] or 0) * 256 + (b[30] or 0),
    (b[31] or 0) * 256 + (b[32] or 0), (b[33] or 0) * 256 + (b[34] or 0)
end

-- `slot`: its fields as stored.
local function seatingSetSlot(runsKey, index, slot)
  local bytes = {}
  for i = 1, SEATING_SLOT_FIELDS do
    bytes[2 * i - 1] = math.floor(slot[i] / 256)
    bytes[2 * i] = slot[i] % 256
  end
  redis.call('SETRANGE', runsKey, SEATING_SLOT_BYTES * index, string.char(unpack(bytes)))
end

--[[
  A row's slot from its free bits, as stored: {longest free run, 1 + best free quality, then for
  k = 2, 3, 4 1 + the best sum of k free seats side by side leaving no single free seat beside
  them (a free neighbour whose other neighbour is taken or the row's end) and the first seat of
  the first such best window, 1 + the best free accessible seat's quality, then the same pair of
  fields for k = 5…8}; 0 where none. The first of equal windows is kept.
]]
local function seatingRowSlot(seating, first, bits)
  local info = seatingBytes(redis.call('GETRANGE', seating.info, 8 * first, 8 * (first + #bits) - 1))
  local seats = #bits
  local longest, current, top, accessibleTop = 0, 0, 0, 0
  -- ck, ak: 1 + the best sum of k free seats side by side leaving no single, its first seat. All
  -- in locals, unrolled: this pass runs for every row a hold changes, and Lua 5.1's table reads
  -- cost several times a local's.
  local c2, a2, c3, a3, c4, a4, c5, a5, c6, a6, c7, a7, c8, a8 = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  -- The qualities of the last seven free seats before seat i (q1 the nearest); those before the
  -- current run are stale, and never added (each size is guarded by the run's length).
  local q1, q2, q3, q4, q5, q6, q7 = 0, 0, 0, 0, 0, 0, 0
  for i = 1, seats do
    if bits[i] then
      current = current + 1
      if current > longest then longest = current end
      local quality = (info[8 * i - 3] or 0) * 256 + (info[8 * i - 2] or 0)
      if quality + 1 > top then top = quality + 1 end
      if info[8 * i - 1] == 1 and quality + 1 > accessibleTop then accessibleTop = quality + 1 end
      -- The window of k seats ending at i, inside this free run: it leaves a single on the right
      -- when the run goes on for exactly one more seat, on the left when exactly one seat of the
      -- run lies before it (k = current - 1).
      local right = i + 1
      if current >= 2 and not (right <= seats and bits[right] and (right == seats or not bits[right + 1])) then
        local sum = quality + q1 + 1
        if sum > c2 and current ~= 3 then c2, a2 = sum, i - 1 end
        if current >= 3 then
          sum = sum + q2
          if sum > c3 and current ~= 4 then c3, a3 = sum, i - 2 end
        end
        if current >= 4 then
          sum = sum + q3
          if sum > c4 and current ~= 5 then c4, a4 = sum, i - 3 end
        end
        if current >= 5 then
          sum = sum + q4
          if sum > c5 and current ~= 6 then c5, a5 = sum, i - 4 end
        end
        if current >= 6 then
          sum = sum + q5
          if sum > c6 and current ~= 7 then c6, a6 = sum, i - 5 end
        end
        if current >= 7 then
          sum = sum + q6
          if sum > c7 and current ~= 8 then c7, a7 = sum, i - 6 end
        end
        if current >= 8 then
          sum = sum + q7
          if sum > c8 and current ~= 9 then c8, a8 = sum, i - 7 end
        end
      end
      q1, q2, q3, q4, q5, q6, q7 = quality, q1, q2, q3, q4, q5, q6
    else
      current = 0
    end
  end
  return {longest, top, c2, a2, c3, a3, c4, a4, accessibleTop, c5, a5, c6, a6, c7, a7, c8, a8}
end

--[[
  Whether some slot of `slots` (a section's row slots as stored) holds `value` (> 0) in field
  `field` (1…17): a plain string.find of its two bytes at that field's offset, no pass over the rows.
]]
local function seatingFieldHolds(slots, field, value)
  local offset = 2 * field - 1
  local needle = string.char(math.floor(value / 256), value % 256)
  local at = string.find(slots, needle, 1, true)
  while at and (at - offset) % SEATING_SLOT_BYTES ~= 0 do at = string.find(slots, needle, at + 1, true) end
  return at ~= nil
end

--[[
  Rewrites the section's slot (the most of its rows' slots, field by field; no first seat). `change`
  (optional): one of its rows' slot went from `change.old` to `change.new` (as stored); the
  rows' slots are then read only when that row may have held one of the section's most and that
  field went down.
]]
local function seatingRefreshSection(seating, section, change)
  local firstRow, rows, _, slot = string.match(redis.call('HGET', seating.layout, 's' .. section), '^(%d+),(%d+),(%d+),(%d+)')
  firstRow, rows, slot = tonumber(firstRow), tonumber(rows), tonumber(slot)
  if change then
    local stored = {seatingSlot(redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * slot, SEATING_SLOT_BYTES * (slot + 1) - 1), 0)}
    -- A field the row may have held the most of and that went down is counted again from the
    -- rows' slots; every other field is the most of the stored one and the row's new value.
    -- When another row still holds the stored most of such a field (found by seatingFieldHolds),
    -- that is it; the fields left are counted in one pass over the rows' slots.
    local slots
    local fresh, changed, recount = {}, false, {}
    for i = 1, SEATING_SLOT_FIELDS do fresh[i] = 0 end
    for _, i in ipairs(SEATING_MOST_FIELDS) do
      if change.old[i] >= stored[i] and change.new[i] < change.old[i] then
        slots = slots or redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * firstRow, SEATING_SLOT_BYTES * (firstRow + rows) - 1)
        if stored[i] > 0 and change.old[i] == stored[i] and seatingFieldHolds(slots, i, stored[i]) then
          fresh[i] = stored[i]
        else
          recount[#recount + 1] = i
        end
      else
        fresh[i] = math.max(stored[i], change.new[i])
      end
    end
    -- One string.byte call per row and field: far cheaper than decoding the slots into one table.
    for _, f in ipairs(recount) do
      local most = 0
      for i = 0, rows - 1 do
        local high, low = string.byte(slots, SEATING_SLOT_BYTES * i + 2 * f - 1, SEATING_SLOT_BYTES * i + 2 * f)
        local value = (high or 0) * 256 + (low or 0)
        if value > most then most = value end
      end
      fresh[f] = most
    end
    for i = 1, SEATING_SLOT_FIELDS do
      if fresh[i] ~= stored[i] then changed = true end
    end
    if changed then seatingSetSlot(seating.runs, slot, fresh) end
    return
  end
  local slots = seatingBytes(redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * firstRow, SEATING_SLOT_BYTES * (firstRow + rows) - 1))
  local most = {}
  for i = 1, SEATING_SLOT_FIELDS do most[i] = 0 end
  for i = 0, rows - 1 do
    for _, f in ipairs(SEATING_MOST_FIELDS) do
      local value = (slots[SEATING_SLOT_BYTES * i + 2 * f - 1] or 0) * 256 + (slots[SEATING_SLOT_BYTES * i + 2 * f] or 0)
      if value > most[f] then most[f] = value end
    end
  end
  seatingSetSlot(seating.runs, slot, most)
end

local function seatingRefreshRow(seating, row)
  local record = redis.call('HGET', seating.layout, 'r' .. row)
  if not record then return end
  local first, seats, section = string.match(record, '^(%d+),(%d+),(%d+)')
  first = tonumber(first)
  redis.call('HDEL', seating.layout, 'w' .. row)
  local fresh = seatingRowSlot(seating, first, seatingRowBits(seating.free, first, tonumber(seats)))
  local stored = {seatingSlot(redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * row, SEATING_SLOT_BYTES * (row + 1) - 1), 0)}
  local same = true
  for i = 1, SEATING_SLOT_FIELDS do same = same and stored[i] == fresh[i] end
  if same then return end
  seatingSetSlot(seating.runs, row, fresh)
  seatingRefreshSection(seating, section, {old = stored, new = fresh})
end

local function seatingMark(seating, seatIds, free)
  if not seating or #seatIds == 0 then return end
  local places = redis.call('HMGET', seating.layout, unpack(seatIds))
  local rows, order = {}, {}
  for i = 1, #seatIds do
    if places[i] then
      local position, row = string.match(places[i], '^(%d+),(%d+)$')
      redis.call('SETBIT', seating.free, tonumber(position), free and 1 or 0)
      if not rows[row] then
        rows[row] = true
        order[#order + 1] = tonumber(row)
      end
    end
  end
  for _, row in ipairs(order) do seatingRefreshRow(seating, row) end
end

--[[
  seatingSingleLeft(seating, seatIds): when taking `seatIds` (their bits may be 0 or 1) would
  leave a single free seat between taken seats or a row end, the id of the taken seat beside
  it; else nil. Seats without a layout entry are not checked. Used by the noOrphanSeats rule.
]]
local function seatingSingleLeft(seating, seatIds)
  local places = redis.call('HMGET', seating.layout, unpack(seatIds))
  local rows, order = {}, {}
  for i = 1, #seatIds do
    if places[i] then
      local position, row = string.match(places[i], '^(%d+),(%d+)$')
      if not rows[row] then
        rows[row] = {}
        order[#order + 1] = row
      end
      rows[row][#rows[row] + 1] = {tonumber(position), seatIds[i]}
    end
  end
  for _, row in ipairs(order) do
    local first, seats = string.match(redis.call('HGET', seating.layout, 'r' .. row) or '', '^(%d+),(%d+)')
    if first then
      first, seats = tonumber(first), tonumber(seats)
      local bits = seatingRowBits(seating.free, first, seats)
      for _, taken in ipairs(rows[row]) do bits[taken[1] - first + 1] = false end
      for _, taken in ipairs(rows[row]) do
        local at = taken[1] - first + 1
        for _, step in ipairs({-1, 1}) do
          local beside, beyond = at + step, at + 2 * step
          if beside >= 1 and beside <= seats and bits[beside] and (beyond < 1 or beyond > seats or not bits[beyond]) then
            return taken[2]
          end
        end
      end
    end
  end
  return nil
end
