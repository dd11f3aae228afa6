--[[
  The best-available seating data of one performance (docs/seating.md), kept beside the seat
  letters so a search reads only the rows it may use. `seating` is a table of four keys:

    seating.free    string: bit b = 1 while the seat at layout position b + 1 is AVAILABLE (letter
                    A); bit 0 is the most significant bit of byte 0, as SETBIT counts
    seating.layout  hash (static, written at registration): '<seat id>' -> '<bit>,<row index>';
                    'r<row index>' -> '<first bit>,<seats>,<section index>,<best quality>,<marked seats>';
                    'sections' -> 12 bytes per section index: first row index, rows, slot, marked
                    seats (u24 each, big-endian; seatingSection);
                    row and section indexes count from 0, rows of a section are consecutive;
                    live: 'w<row index>' -> the row's best windows as hold-best-available.lua
                    computed them from its bits (a cache it writes), deleted with every refresh
                    of the row's slot; 'dirty' -> ',<row index>,…,': the rows whose seats a
                    seat-id hold took since their slot was last refreshed (seatingMarkTaken),
                    refreshed by the next best-available search (seatingRefreshDirty)
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
    seatingSection(records, index)           first row index, rows, slot, marked seats of the
                                             section `index` (from 0) in `records` (the layout's
                                             'sections' field as read)
    seatingRowBits(freeKey, first, seats)    {true|false, ...}: the free bits of one row
    seatingSlot(bytes, i)                    the seventeen fields of the i-th slot (from 0) of
                                             `bytes`, as stored: run, top, clean pair, its first
                                             seat, clean triple, its first seat, clean quad, its
                                             first seat, accessible top, then clean windows of 5,
                                             6, 7, 8 seats, each with its first seat
    seatingRefreshRow(seating, row, known)   rewrites the row's slot from its bits, and its
                                             section's slot when the row's changed; drops the
                                             row's cached windows. known (optional): the row's
                                             record as the caller parsed it, {first, seats,
                                             section, sectionRecord = {firstRow, rows, slot}}
    seatingMark(seating, seatIds, free)      sets the seats' bits (free = true: 1) and refreshes
                                             their rows; seat ids without a layout entry are skipped
    seatingMarkPlaces(seating, places, free, known)  the same for places {layout position, row
                                             index} the caller knows; known (optional): row index
                                             -> its record, as seatingRefreshRow takes it
    seatingMarkTaken(seating, seatIds)       clears the seats' bits and lists their rows in the
                                             layout's 'dirty' field instead of refreshing them (a
                                             row the full list has no room for is refreshed now)
    seatingRefreshDirty(seating, dirty)      refreshes the rows `dirty` (the 'dirty' field as read)
                                             lists and deletes the field
    seatingMarkRows(seating, seatIds, free)  seatingMark for seats across many rows: each
                                             section's slot counted once when more than
                                             SEATING_RECOUNT_ROWS of its rows changed

  Stale slots: a row listed in 'dirty' may keep a slot (and cached windows) of before its seats
  were taken, while each section's slot stays the most of its rows' slots as stored (every
  refresh keeps that). The best-available search, the only reader of slots and windows,
  refreshes the listed rows before it reads any, which makes every slot exact again. The list
  keeps that deferred work bounded: at most SEATING_DIRTY_MAX bytes, so a search refreshes at
  most ~1,000 rows (three-digit row indexes; ~700 with five digits) before its own work.
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

-- Bytes per section record in the layout's 'sections' field (SECTION_RECORD_BYTES, seating-layout.ts).
local SEATING_SECTION_BYTES = 12

local function seatingSection(records, index)
  local at = SEATING_SECTION_BYTES * index
  local a1, a2, a3, b1, b2, b3, c1, c2, c3, d1, d2, d3 = string.byte(records, at + 1, at + SEATING_SECTION_BYTES)
  return (a1 * 256 + a2) * 256 + a3, (b1 * 256 + b2) * 256 + b3, (c1 * 256 + c2) * 256 + c3, (d1 * 256 + d2) * 256 + d3
end

local function seatingRowBits(freeKey, first, seats)
  local firstByte = math.floor(first / 8)
  local lastByte = math.floor((first + seats - 1) / 8)
  local bytes = {string.byte(redis.call('GETRANGE', freeKey, firstByte, lastByte), 1, -1)}
  local bits = {}
  local i, from = 1, first % 8
  -- Bits from the most significant, by arithmetic: a bit.band call per seat costs several times
  -- the few opcodes of a comparison and a subtraction.
  for b = 1, lastByte - firstByte + 1 do
    local byte = bytes[b] or 0
    if from == 0 and i + 7 <= seats and (byte == 255 or byte == 0) then
      -- A whole byte of the row all free or all taken (most bytes of a filling row): no bit
      -- arithmetic.
      local set = byte == 255
      for k = i, i + 7 do bits[k] = set end
      i = i + 8
    else
      for k = 1, 8 do
        local set = byte >= 128
        if set then byte = byte - 128 end
        byte = byte * 2
        if k > from then
          if i > seats then break end
          bits[i] = set
          i = i + 1
        end
      end
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
-- How many values just below a section's old most its refresh looks for before a pass over its rows.
local SEATING_PROBES = 8
-- The fields a section's slot holds the most of (the others, first seats, are 0 there).
local SEATING_MOST_FIELDS = {1, 2, 3, 5, 7, 9, 10, 12, 14, 16}

local function seatingSlot(bytes, i)
  local at = SEATING_SLOT_BYTES * i
  -- A slot past the end of the string (never written) reads as zeros.
  if #bytes < at + SEATING_SLOT_BYTES then bytes = bytes .. string.rep('\0', at + SEATING_SLOT_BYTES - #bytes) end
  -- Two calls into locals: a table of the 34 bytes and its reads cost about twice as much.
  local b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17 = string.byte(bytes, at + 1, at + 17)
  local c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17 = string.byte(bytes, at + 18, at + 34)
  return b1 * 256 + b2, b3 * 256 + b4, b5 * 256 + b6, b7 * 256 + b8, b9 * 256 + b10, b11 * 256 + b12,
    b13 * 256 + b14, b15 * 256 + b16, b17 * 256 + c1, c2 * 256 + c3, c4 * 256 + c5, c6 * 256 + c7,
    c8 * 256 + c9, c10 * 256 + c11, c12 * 256 + c13, c14 * 256 + c15, c16 * 256 + c17
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
  local info = redis.call('GETRANGE', seating.info, 8 * first, 8 * (first + #bits) - 1)
  local seats = #bits
  local longest, top, accessibleTop = 0, 0, 0
  -- ck, ak: 1 + the best sum of k free seats side by side leaving no single, its first seat. All
  -- in locals, unrolled: this pass runs for every row a hold changes, and Lua 5.1's table reads
  -- cost several times a local's.
  local c2, a2, c3, a3, c4, a4, c5, a5, c6, a6, c7, a7, c8, a8 = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  local i = 1
  while i <= seats do
    if bits[i] then
      -- The free run i..j, then its seats: a window of k seats ending at seat s (current seats of
      -- the run so far) leaves a single on the right when exactly one seat of the run follows it
      -- (j = s + 1), on the left when exactly one precedes it (current = k + 1).
      local j = i
      while j < seats and bits[j + 1] do j = j + 1 end
      if j - i + 1 > longest then longest = j - i + 1 end
      -- The qualities of the last seven seats of the run before seat s (q1 the nearest).
      local q1, q2, q3, q4, q5, q6, q7 = 0, 0, 0, 0, 0, 0, 0
      for s = i, j do
        -- One string.byte call a free seat for its quality and flags: a table of the row's
        -- info bytes (eight a seat) costs more to build and collect than the calls.
        local high, low, flag = string.byte(info, 8 * s - 3, 8 * s - 1)
        local quality = high * 256 + low
        if quality >= top then top = quality + 1 end
        if flag == 1 and quality >= accessibleTop then accessibleTop = quality + 1 end
        local current = s - i + 1
        if current >= 10 and j - s >= 2 then
          -- Inside the run (nine seats or more before s, two or more after it): every window
          -- ending at s leaves no single, so only the sums are compared.
          local sum = quality + q1 + 1
          if sum > c2 then c2, a2 = sum, s - 1 end
          sum = sum + q2
          if sum > c3 then c3, a3 = sum, s - 2 end
          sum = sum + q3
          if sum > c4 then c4, a4 = sum, s - 3 end
          sum = sum + q4
          if sum > c5 then c5, a5 = sum, s - 4 end
          sum = sum + q5
          if sum > c6 then c6, a6 = sum, s - 5 end
          sum = sum + q6
          if sum > c7 then c7, a7 = sum, s - 6 end
          sum = sum + q7
          if sum > c8 then c8, a8 = sum, s - 7 end
        elseif current >= 2 and j - s ~= 1 then
          local sum = quality + q1 + 1
          if sum > c2 and current ~= 3 then c2, a2 = sum, s - 1 end
          if current >= 3 then
            sum = sum + q2
            if sum > c3 and current ~= 4 then c3, a3 = sum, s - 2 end
            if current >= 4 then
              sum = sum + q3
              if sum > c4 and current ~= 5 then c4, a4 = sum, s - 3 end
              if current >= 5 then
                sum = sum + q4
                if sum > c5 and current ~= 6 then c5, a5 = sum, s - 4 end
                if current >= 6 then
                  sum = sum + q5
                  if sum > c6 and current ~= 7 then c6, a6 = sum, s - 5 end
                  if current >= 7 then
                    sum = sum + q6
                    if sum > c7 and current ~= 8 then c7, a7 = sum, s - 6 end
                    if current >= 8 then
                      sum = sum + q7
                      if sum > c8 and current ~= 9 then c8, a8 = sum, s - 7 end
                    end
                  end
                end
              end
            end
          end
        end
        -- One move each, oldest first (a multiple assignment moves each value twice).
        q7 = q6
        q6 = q5
        q5 = q4
        q4 = q3
        q3 = q2
        q2 = q1
        q1 = quality
      end
      -- Seat j + 1 is taken (or past the row's end).
      i = j + 2
    else
      i = i + 1
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
local function seatingRefreshSection(seating, section, change, record)
  local firstRow, rows, slot
  if record then
    firstRow, rows, slot = record.firstRow, record.rows, record.slot
  else
    local records = redis.call('HGET', seating.layout, 'sections')
    -- Data of an older format (no 'sections'): its 'ready' is not SEATING_FORMAT, so no search
    -- reads these slots before rebuild-seating.lua writes them all again from the letters.
    if not records then return end
    firstRow, rows, slot = seatingSection(records, section)
  end
  if change then
    local stored = {seatingSlot(redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * slot, SEATING_SLOT_BYTES * (slot + 1) - 1), 0)}
    -- A field the row may have held the most of and that went down is counted again from the
    -- rows' slots; every other field is the most of the stored one and the row's new value.
    -- When another row still holds the stored most of such a field (found by seatingFieldHolds),
    -- that is it; the fields left are counted in one pass over the rows' slots.
    local slots
    local fresh, changed, recount = {}, false, {}
    for i = 1, SEATING_SLOT_FIELDS do fresh[i] = 0 end
    for m = 1, #SEATING_MOST_FIELDS do
      local i = SEATING_MOST_FIELDS[m]
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
    for r = 1, #recount do
      local f = recount[r]
      -- No row holds the old most any more (the changed row held it); the new most is at least
      -- the changed row's new value. When the old most is the changed row's old value (always,
      -- unless the data is inconsistent), the values just below it are looked for first, each by
      -- a string.find (seatingFieldHolds): in a section being filled the next best is usually a
      -- few units lower, and a pass costs one string.byte call per row.
      local most
      if stored[f] > 0 and change.old[f] == stored[f] then
        local lowest = math.max(change.new[f] + 1, stored[f] - SEATING_PROBES)
        for value = stored[f] - 1, lowest, -1 do
          if seatingFieldHolds(slots, f, value) then
            most = value
            break
          end
        end
        if not most and lowest == change.new[f] + 1 then most = change.new[f] end
      end
      if not most then
        most = 0
        for i = 0, rows - 1 do
          local high, low = string.byte(slots, SEATING_SLOT_BYTES * i + 2 * f - 1, SEATING_SLOT_BYTES * i + 2 * f)
          local value = (high or 0) * 256 + (low or 0)
          if value > most then most = value end
        end
      end
      fresh[f] = most
    end
    for i = 1, SEATING_SLOT_FIELDS do
      if fresh[i] ~= stored[i] then changed = true end
    end
    if changed then seatingSetSlot(seating.runs, slot, fresh) end
    return
  end
  local text = redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * firstRow, SEATING_SLOT_BYTES * (firstRow + rows) - 1)
  local most = {}
  for i = 1, SEATING_SLOT_FIELDS do most[i] = 0 end
  -- The rows' slots decoded a hundred at a time: one string.byte call each (see seatingBytes).
  for chunk = 0, rows - 1, 100 do
    local count = math.min(100, rows - chunk)
    local slots = {string.byte(text, SEATING_SLOT_BYTES * chunk + 1, SEATING_SLOT_BYTES * (chunk + count))}
    for i = 0, count - 1 do
      for _, f in ipairs(SEATING_MOST_FIELDS) do
        local value = (slots[SEATING_SLOT_BYTES * i + 2 * f - 1] or 0) * 256 + (slots[SEATING_SLOT_BYTES * i + 2 * f] or 0)
        if value > most[f] then most[f] = value end
      end
    end
  end
  seatingSetSlot(seating.runs, slot, most)
end

-- Rewrites row `row`'s slot from its bits (first position, seats) and drops its cached windows;
-- answers its slot before and after as stored, or nothing when they are the same.
local function seatingRewriteRow(seating, row, first, seats)
  redis.call('HDEL', seating.layout, 'w' .. row)
  local fresh = seatingRowSlot(seating, first, seatingRowBits(seating.free, first, seats))
  local stored = {seatingSlot(redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * row, SEATING_SLOT_BYTES * (row + 1) - 1), 0)}
  local same = true
  for i = 1, SEATING_SLOT_FIELDS do same = same and stored[i] == fresh[i] end
  if same then return nil end
  seatingSetSlot(seating.runs, row, fresh)
  return stored, fresh
end

local function seatingRefreshRow(seating, row, known)
  local first, seats, section
  if known then
    first, seats, section = known.first, known.seats, known.section
  else
    local record = redis.call('HGET', seating.layout, 'r' .. row)
    if not record then return end
    first, seats, section = string.match(record, '^(%d+),(%d+),(%d+)')
    first, seats = tonumber(first), tonumber(seats)
  end
  local stored, fresh = seatingRewriteRow(seating, row, first, seats)
  if not stored then return end
  seatingRefreshSection(seating, section, {old = stored, new = fresh}, known and known.sectionRecord)
end

local function seatingMarkPlaces(seating, places, free, known)
  local rows, order = {}, {}
  for i = 1, #places do
    local position, row = places[i][1], places[i][2]
    redis.call('SETBIT', seating.free, position, free and 1 or 0)
    if not rows[row] then
      rows[row] = true
      order[#order + 1] = row
    end
  end
  for i = 1, #order do seatingRefreshRow(seating, order[i], known and known[order[i]]) end
end

local function seatingMark(seating, seatIds, free)
  if not seating or #seatIds == 0 then return end
  local entries = redis.call('HMGET', seating.layout, unpack(seatIds))
  local places = {}
  for i = 1, #seatIds do
    if entries[i] then
      local position, row = string.match(entries[i], '^(%d+),(%d+)$')
      places[#places + 1] = {tonumber(position), tonumber(row)}
    end
  end
  seatingMarkPlaces(seating, places, free)
end

-- The longest 'dirty' list, in bytes (see Stale slots above).
local SEATING_DIRTY_MAX = 4096

--[[
  Why deferred: a seat-id hold on a 100-seat row spent about two thirds of its Redis time
  refreshing the row's slot (docs/performance.md), which only a best-available search reads;
  rows taken again before the next search are refreshed once.
]]
local function seatingMarkTaken(seating, seatIds)
  if not seating or #seatIds == 0 then return end
  local entries = redis.call('HMGET', seating.layout, 'dirty', unpack(seatIds))
  local dirty = entries[1] or ','
  local listed = #dirty
  local refreshNow = {}
  for i = 1, #seatIds do
    local entry = entries[i + 1]
    if entry then
      local position, row = string.match(entry, '^(%d+),(%d+)$')
      -- The position as read: a number would be formatted again for the command.
      redis.call('SETBIT', seating.free, position, 0)
      if not string.find(dirty, ',' .. row .. ',', 1, true) then
        if #dirty + #row + 1 <= SEATING_DIRTY_MAX then
          dirty = dirty .. row .. ','
        elseif not refreshNow[row] then
          refreshNow[row] = true
          refreshNow[#refreshNow + 1] = tonumber(row)
        end
      end
    end
  end
  if #dirty ~= listed then redis.call('HSET', seating.layout, 'dirty', dirty) end
  for i = 1, #refreshNow do seatingRefreshRow(seating, refreshNow[i]) end
end

-- Rows of one section past which a flush counts the section's slot once, in one pass over its
-- rows, rather than after each row: each row's own count may read all the section's slots.
local SEATING_RECOUNT_ROWS = 8

-- Refreshes the slots of rows `indexes` (row indexes, each once) and of their sections: a section
-- with at most SEATING_RECOUNT_ROWS of them row by row, a larger one counted once after its rows.
local function seatingRefreshRows(seating, indexes)
  if #indexes == 0 then return end
  local names = {}
  for i = 1, #indexes do names[i] = 'r' .. indexes[i] end
  local records = redis.call('HMGET', seating.layout, unpack(names))
  local sections, order = {}, {}
  for i = 1, #names do
    if records[i] then
      local first, seats, section = string.match(records[i], '^(%d+),(%d+),(%d+)')
      if not sections[section] then
        sections[section] = {}
        order[#order + 1] = section
      end
      local rows = sections[section]
      rows[#rows + 1] = {indexes[i], tonumber(first), tonumber(seats)}
    end
  end
  for _, section in ipairs(order) do
    local rows = sections[section]
    if #rows <= SEATING_RECOUNT_ROWS then
      for _, row in ipairs(rows) do
        local stored, fresh = seatingRewriteRow(seating, row[1], row[2], row[3])
        if stored then seatingRefreshSection(seating, section, {old = stored, new = fresh}) end
      end
    else
      local changed = false
      for _, row in ipairs(rows) do
        if seatingRewriteRow(seating, row[1], row[2], row[3]) then changed = true end
      end
      if changed then seatingRefreshSection(seating, section) end
    end
  end
end

local function seatingRefreshDirty(seating, dirty)
  if not dirty then return end
  redis.call('HDEL', seating.layout, 'dirty')
  local indexes = {}
  for row in string.gmatch(dirty, '%d+') do indexes[#indexes + 1] = tonumber(row) end
  seatingRefreshRows(seating, indexes)
end

--[[
  seatingMarkRows(seating, seatIds, free): what seatingMark does, for seats across many rows (an
  operator's block or release by place: up to thousands of rows of one section). Each row's slot
  is rewritten once; a section with more than SEATING_RECOUNT_ROWS of the rows gets its slot
  counted once afterwards, in one pass over its rows, instead of after each row (each of those
  counts may search all the section's slots: a column of 2,000 seats across 2,000 rows of one
  section took seconds of Redis time that way). Seat ids without a layout entry are skipped.
]]
local function seatingMarkRows(seating, seatIds, free)
  if not seating or #seatIds == 0 then return end
  local entries = redis.call('HMGET', seating.layout, unpack(seatIds))
  local seen, indexes = {}, {}
  for i = 1, #seatIds do
    if entries[i] then
      local position, row = string.match(entries[i], '^(%d+),(%d+)$')
      redis.call('SETBIT', seating.free, tonumber(position), free and 1 or 0)
      if not seen[row] then
        seen[row] = true
        indexes[#indexes + 1] = tonumber(row)
      end
    end
  end
  seatingRefreshRows(seating, indexes)
end

--[[
  seatingSingleLeft(seating, seatIds): when taking `seatIds` (their bits may be 0 or 1) would
  leave a single free seat between taken seats or a row end, the id of the seat of `seatIds`
  beside it and the single seat's own id (read from seating.info only then); else nil. Seats
  without a layout entry are not checked. Used by the noOrphanSeats rule. A wheelchair space or
  companion seat left alone does not count: such seats are sold apart, to accessible requests (a
  wheelchair user alone takes the space between two companion seats), so the rule is about
  unmarked seats nobody could be offered.
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
            local position = first + beside - 1
            local b1, b2, b3, b4, _, _, flags =
              string.byte(redis.call('GETRANGE', seating.info, 8 * position, 8 * position + 6), 1, 7)
            if flags == 0 then return taken[2], ((b1 * 256 + b2) * 256 + b3) * 256 + b4 end
          end
        end
      end
    end
  end
  return nil
end
