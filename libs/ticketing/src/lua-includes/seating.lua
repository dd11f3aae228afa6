--[[
  The best-available seating data of one performance (docs/seating.md), kept beside the seat
  letters so a search reads only the rows it may use. `seating` is a table of four keys:

    seating.free    string: bit b = 1 while the seat at layout position b + 1 is AVAILABLE (letter
                    A); bit 0 is the most significant bit of byte 0, as SETBIT counts
    seating.layout  hash (static, written at registration): '<seat id>' -> '<bit>,<row index>';
                    'r<row index>' -> '<first bit>,<seats>,<section index>,<best quality>,<accessible seats>';
                    's<section index>' -> '<first row index>,<rows>,<best quality>,<slot>,<accessible seats>';
                    row and section indexes count from 0, rows of a section are consecutive;
                    live: 'w<row index>' -> the row's best windows as hold-best-available.lua
                    computed them from its bits (a cache it writes), deleted with every change of
                    the row's bits
    seating.runs    string of 10-byte slots, five big-endian u16 each: the longest run of free
                    seats; 1 + the best quality among the free seats (0: none free); 1 + the best
                    quality sum of two free seats side by side (0: none); 1 + the same among the
                    pairs that leave no single free seat beside them (a clean pair; 0: none); the
                    row's seat index (from 1) of the first seat of that best clean pair, the lowest
                    of equal ones (0: none). Slot r for row r, slot <slot> of a section for the most
                    of its rows' (each of the first four on its own; the fifth 0). The pair fields
                    bound a TOGETHER placement of any size (hold-best-available.lua, togetherBound)
    seating.info    string, 8 bytes per layout position: seat id (u32), quality (u16), flags (u8:
                    1 accessible, 2 companion), 0; big-endian (static)

  A performance registered without the layout has no such fields: every function then changes
  nothing. Functions:
    seatingRowBits(freeKey, first, seats)    {true|false, ...}: the free bits of one row
    seatingSlot(bytes, i)                    run, top, pair, clean pair, its first seat of the
                                             i-th slot (from 0) of `bytes`, as stored
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

-- Bytes per slot of seating.runs.
local SEATING_SLOT_BYTES = 10

local function seatingSlot(bytes, i)
  local a, b, c, d, e, f, g, h, j, k = string.byte(bytes, 10 * i + 1, 10 * i + 10)
  return (a or 0) * 256 + (b or 0), (c or 0) * 256 + (d or 0), (e or 0) * 256 + (f or 0),
    (g or 0) * 256 + (h or 0), (j or 0) * 256 + (k or 0)
end

-- `slot`: {run, top, pair, clean pair, its first seat} as stored.
local function seatingSetSlot(runsKey, index, slot)
  local bytes = {}
  for i = 1, 5 do
    bytes[2 * i - 1] = math.floor(slot[i] / 256)
    bytes[2 * i] = slot[i] % 256
  end
  redis.call('SETRANGE', runsKey, SEATING_SLOT_BYTES * index, string.char(unpack(bytes)))
end

--[[
  A row's slot from its free bits, as stored: {longest free run, 1 + best free quality, 1 + best
  sum of two free seats side by side, 1 + the same among pairs leaving no single free seat beside
  them (a free neighbour whose other neighbour is taken or the row's end), the first seat of the
  first such best pair}; 0 where none.
]]
local function seatingRowSlot(seating, first, bits)
  local info = seatingBytes(redis.call('GETRANGE', seating.info, 8 * first, 8 * (first + #bits) - 1))
  local seats = #bits
  local longest, current, top, pair, cleanPair, cleanAt = 0, 0, 0, 0, 0, 0
  local previous
  for i = 1, seats do
    if bits[i] then
      current = current + 1
      if current > longest then longest = current end
      local quality = (info[8 * i - 3] or 0) * 256 + (info[8 * i - 2] or 0)
      if quality + 1 > top then top = quality + 1 end
      if current >= 2 then
        -- The pair (i - 1, i): a single is left on the left when seat i - 2 is free and i - 3
        -- is not (or is past the row's start), on the right likewise.
        local sum = previous + quality + 1
        if sum > pair then pair = sum end
        if sum > cleanPair then
          local left = i - 2
          local right = i + 1
          local singleLeft = left >= 1 and bits[left] and (left == 1 or not bits[left - 1])
          local singleRight = right <= seats and bits[right] and (right == seats or not bits[right + 1])
          if not singleLeft and not singleRight then cleanPair, cleanAt = sum, i - 1 end
        end
      end
      previous = quality
    else
      current = 0
    end
  end
  return {longest, top, pair, cleanPair, cleanAt}
end

--[[
  The most of field `field` (1…4) over the `rows` slots of `slots` (a section's row slots as
  stored). `ceiling` (optional): a value no row's field exceeds; when some row's field equals it,
  that is the answer, found by a plain string.find of its two bytes (no pass over the rows).
]]
local function seatingFieldMost(slots, rows, field, ceiling)
  local offset = 2 * field - 1
  if ceiling and ceiling > 0 then
    local needle = string.char(math.floor(ceiling / 256), ceiling % 256)
    local at = string.find(slots, needle, 1, true)
    while at and (at - offset) % SEATING_SLOT_BYTES ~= 0 do at = string.find(slots, needle, at + 1, true) end
    if at then return ceiling end
  end
  local most = 0
  for i = 0, rows - 1 do
    local high, low = string.byte(slots, SEATING_SLOT_BYTES * i + offset, SEATING_SLOT_BYTES * i + offset + 1)
    local value = (high or 0) * 256 + (low or 0)
    if value > most then most = value end
  end
  return most
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
    local stored = {seatingSlot(redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * slot, SEATING_SLOT_BYTES * slot + 9), 0)}
    -- A field the row may have held the most of and that went down is counted again from the
    -- rows' slots; every other field is the most of the stored one and the row's new value.
    local slots
    local fresh, changed = {0, 0, 0, 0, 0}, false
    for i = 1, 4 do
      if change.old[i] >= stored[i] and change.new[i] < change.old[i] then
        slots = slots or redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * firstRow, SEATING_SLOT_BYTES * (firstRow + rows) - 1)
        fresh[i] = seatingFieldMost(slots, rows, i, change.old[i] == stored[i] and stored[i] or nil)
      else
        fresh[i] = math.max(stored[i], change.new[i])
      end
      if fresh[i] ~= stored[i] then changed = true end
    end
    if changed then seatingSetSlot(seating.runs, slot, fresh) end
    return
  end
  local slots = seatingBytes(redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * firstRow, SEATING_SLOT_BYTES * (firstRow + rows) - 1))
  local most = {0, 0, 0, 0, 0}
  for i = 0, rows - 1 do
    for f = 1, 4 do
      local value = (slots[10 * i + 2 * f - 1] or 0) * 256 + (slots[10 * i + 2 * f] or 0)
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
  local stored = {seatingSlot(redis.call('GETRANGE', seating.runs, SEATING_SLOT_BYTES * row, SEATING_SLOT_BYTES * row + 9), 0)}
  if stored[1] == fresh[1] and stored[2] == fresh[2] and stored[3] == fresh[3] and stored[4] == fresh[4]
    and stored[5] == fresh[5] then return end
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
