--[[
  Writes the best-available seating data of some rows from the seat letters, the truth: each
  seat's free bit (letter A), each row's longest free run, and the longest run of every section
  the rows belong to. Registration runs it over every row after writing the static layout, in
  chunks of rows so that no call blocks Redis for long; running it again on any rows repairs
  them (a seat held by an expired hold not yet ended has letter H and reads as taken).

  KEYS[1] seats      hash seat id -> status letter (A available, H held, S sold)
  KEYS[2] free       best-available data (the seating include): free-seat bitmap,
  KEYS[3] seating    static layout hash,
  KEYS[4] runs       longest free run per row and section
  KEYS[5] seat info  string, 8 bytes per layout position, the seat id first (u32, big-endian)

  ARGV[1] first row index, ARGV[2] last row index (inclusive; row indexes count from 0)

  Returns the number of free seats in those rows.
]]
--- @keys 5
--- @include "seating"
local seatsKey, seatInfoKey = KEYS[1], KEYS[5]
local seating = { free = KEYS[2], layout = KEYS[3], runs = KEYS[4] }
local firstRow, lastRow = tonumber(ARGV[1]), tonumber(ARGV[2])

local free = 0
local sections, order = {}, {}
for row = firstRow, lastRow do
  local record = redis.call('HGET', seating.layout, 'r' .. row)
  local first, seats, section = string.match(record, '^(%d+),(%d+),(%d+)')
  first, seats = tonumber(first), tonumber(seats)
  local info = redis.call('GETRANGE', seatInfoKey, 8 * first, 8 * (first + seats) - 1)
  local ids = {}
  for i = 1, seats do
    local b1, b2, b3, b4 = string.byte(info, 8 * (i - 1) + 1, 8 * (i - 1) + 4)
    ids[i] = tostring(((b1 * 256 + b2) * 256 + b3) * 256 + b4)
  end
  local letters = redis.call('HMGET', seatsKey, unpack(ids))
  local longest, current = 0, 0
  for i = 1, seats do
    local isFree = letters[i] == 'A'
    redis.call('SETBIT', seating.free, first + i - 1, isFree and 1 or 0)
    if isFree then
      free = free + 1
      current = current + 1
      if current > longest then longest = current end
    else
      current = 0
    end
  end
  seatingSetRun(seating.runs, row, longest)
  if not sections[section] then
    sections[section] = true
    order[#order + 1] = section
  end
end

for _, section in ipairs(order) do
  local sectionFirst, rows, _, slot = string.match(redis.call('HGET', seating.layout, 's' .. section), '^(%d+),(%d+),(%d+),(%d+)')
  sectionFirst, rows, slot = tonumber(sectionFirst), tonumber(rows), tonumber(slot)
  local runs = redis.call('GETRANGE', seating.runs, 2 * sectionFirst, 2 * (sectionFirst + rows) - 1)
  local longest = 0
  for i = 0, rows - 1 do
    local value = seatingU16(runs, i)
    if value > longest then longest = value end
  end
  seatingSetRun(seating.runs, slot, longest)
end
return free
