--[[
  The best-available seating data of one performance (docs/seating.md), kept beside the seat
  letters so a search reads only the rows it may use. `seating` is a table of three keys:

    seating.free    string: bit b = 1 while the seat at layout position b + 1 is AVAILABLE (letter
                    A); bit 0 is the most significant bit of byte 0, as SETBIT counts
    seating.layout  hash (static, written at registration): '<seat id>' -> '<bit>,<row index>';
                    'r<row index>' -> '<first bit>,<seats>,<section index>,<best quality>,<accessible seats>';
                    's<section index>' -> '<first row index>,<rows>,<best quality>,<run slot>,<accessible seats>';
                    row and section indexes count from 0, rows of a section are consecutive
    seating.runs    string of big-endian u16: slot r = longest run of free seats in row r, slot
                    <run slot> of a section = the longest of its rows

  A performance registered without the layout has no such fields: every function then changes
  nothing. Functions:
    seatingRowBits(freeKey, first, seats)    {true|false, ...}: the free bits of one row
    seatingLongestRun(bits)                  longest run of true in bits
    seatingRefreshRow(seating, row)          rewrites the row's run slot from its bits, and its
                                             section's slot when the row's changed
    seatingMark(seating, seatIds, free)      sets the seats' bits (free = true: 1) and refreshes
                                             their rows; seat ids without a layout entry are skipped
]]
local SEATING_MASKS = {128, 64, 32, 16, 8, 4, 2, 1}

local function seatingRowBits(freeKey, first, seats)
  local firstByte = math.floor(first / 8)
  local bytes = redis.call('GETRANGE', freeKey, firstByte, math.floor((first + seats - 1) / 8))
  local bits = {}
  for i = 0, seats - 1 do
    local position = first + i
    local byte = string.byte(bytes, math.floor(position / 8) - firstByte + 1) or 0
    bits[i + 1] = bit.band(byte, SEATING_MASKS[position % 8 + 1]) ~= 0
  end
  return bits
end

local function seatingLongestRun(bits)
  local longest, current = 0, 0
  for i = 1, #bits do
    if bits[i] then
      current = current + 1
      if current > longest then longest = current end
    else
      current = 0
    end
  end
  return longest
end

local function seatingU16(bytes, slot)
  local high, low = string.byte(bytes, 2 * slot + 1, 2 * slot + 2)
  return (high or 0) * 256 + (low or 0)
end

local function seatingSetRun(runsKey, slot, value)
  redis.call('SETRANGE', runsKey, 2 * slot, string.char(math.floor(value / 256), value % 256))
end

local function seatingRefreshRow(seating, row)
  local record = redis.call('HGET', seating.layout, 'r' .. row)
  if not record then return end
  local first, seats, section = string.match(record, '^(%d+),(%d+),(%d+)')
  local run = seatingLongestRun(seatingRowBits(seating.free, tonumber(first), tonumber(seats)))
  local stored = seatingU16(redis.call('GETRANGE', seating.runs, 2 * row, 2 * row + 1), 0)
  if stored == run then return end
  seatingSetRun(seating.runs, row, run)
  local sectionRecord = redis.call('HGET', seating.layout, 's' .. section)
  local firstRow, rows, _, slot = string.match(sectionRecord, '^(%d+),(%d+),(%d+),(%d+)')
  firstRow, rows, slot = tonumber(firstRow), tonumber(rows), tonumber(slot)
  local runs = redis.call('GETRANGE', seating.runs, 2 * firstRow, 2 * (firstRow + rows) - 1)
  local longest = 0
  for i = 0, rows - 1 do
    local value = seatingU16(runs, i)
    if value > longest then longest = value end
  end
  seatingSetRun(seating.runs, slot, longest)
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
