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
    seating.runs    string of 4-byte slots, two big-endian u16 each: the longest run of free seats,
                    and 1 + the best quality among the free seats (0: none free); slot r for row r,
                    slot <slot> of a section for the best of its rows
    seating.info    string, 8 bytes per layout position: seat id (u32), quality (u16), flags (u8:
                    1 accessible, 2 companion), 0; big-endian (static)

  A performance registered without the layout has no such fields: every function then changes
  nothing. Functions:
    seatingRowBits(freeKey, first, seats)    {true|false, ...}: the free bits of one row
    seatingSlot(bytes, i)                    run, top of the i-th slot (from 0) of `bytes`
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

local function seatingSlot(bytes, i)
  local a, b, c, d = string.byte(bytes, 4 * i + 1, 4 * i + 4)
  return (a or 0) * 256 + (b or 0), (c or 0) * 256 + (d or 0)
end

local function seatingSetSlot(runsKey, slot, run, top)
  redis.call('SETRANGE', runsKey, 4 * slot,
    string.char(math.floor(run / 256), run % 256, math.floor(top / 256), top % 256))
end

-- The longest run of free seats of a row and 1 + the best quality among them (0: none free).
local function seatingRowSlot(seating, first, bits)
  local info = seatingBytes(redis.call('GETRANGE', seating.info, 8 * first, 8 * (first + #bits) - 1))
  local longest, current, top = 0, 0, 0
  for i = 1, #bits do
    if bits[i] then
      current = current + 1
      if current > longest then longest = current end
      local quality = (info[8 * i - 3] or 0) * 256 + (info[8 * i - 2] or 0) + 1
      if quality > top then top = quality end
    else
      current = 0
    end
  end
  return longest, top
end

--[[
  Rewrites the section's slot (the most of its rows' runs and tops). `change` (optional): one of
  its rows' slot went from run, top = change[1], change[2] to change[3], change[4]; the rows'
  slots are then read only when that row may have held the section's most and went down.
]]
local function seatingRefreshSection(seating, section, change)
  local firstRow, rows, _, slot = string.match(redis.call('HGET', seating.layout, 's' .. section), '^(%d+),(%d+),(%d+),(%d+)')
  firstRow, rows, slot = tonumber(firstRow), tonumber(rows), tonumber(slot)
  if change then
    local run, top = seatingSlot(redis.call('GETRANGE', seating.runs, 4 * slot, 4 * slot + 3), 0)
    if not ((change[1] >= run and change[3] < change[1]) or (change[2] >= top and change[4] < change[2])) then
      local newRun, newTop = math.max(run, change[3]), math.max(top, change[4])
      if newRun ~= run or newTop ~= top then seatingSetSlot(seating.runs, slot, newRun, newTop) end
      return
    end
  end
  local slots = seatingBytes(redis.call('GETRANGE', seating.runs, 4 * firstRow, 4 * (firstRow + rows) - 1))
  local longest, best = 0, 0
  for i = 0, rows - 1 do
    local run = (slots[4 * i + 1] or 0) * 256 + (slots[4 * i + 2] or 0)
    local top = (slots[4 * i + 3] or 0) * 256 + (slots[4 * i + 4] or 0)
    if run > longest then longest = run end
    if top > best then best = top end
  end
  seatingSetSlot(seating.runs, slot, longest, best)
end

local function seatingRefreshRow(seating, row)
  local record = redis.call('HGET', seating.layout, 'r' .. row)
  if not record then return end
  local first, seats, section = string.match(record, '^(%d+),(%d+),(%d+)')
  first = tonumber(first)
  redis.call('HDEL', seating.layout, 'w' .. row)
  local run, top = seatingRowSlot(seating, first, seatingRowBits(seating.free, first, tonumber(seats)))
  local storedRun, storedTop = seatingSlot(redis.call('GETRANGE', seating.runs, 4 * row, 4 * row + 3), 0)
  if storedRun == run and storedTop == top then return end
  seatingSetSlot(seating.runs, row, run, top)
  seatingRefreshSection(seating, section, {storedRun, storedTop, run, top})
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
