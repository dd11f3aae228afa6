--[[
  Writes the best-available seating data of some rows from the seat letters, the truth: each
  seat's free bit (letter A), each row's 34-byte slot (longest free run, best free quality, best clean windows), and the
  slot of every section the rows belong to; drops the rows' cached windows. Registration runs it over every row after writing the static layout, in
  chunks of rows so that no call blocks Redis for long; running it again on any rows repairs
  them (a seat held by an expired hold not yet ended has letter H and reads as taken).

  KEYS[1] seats      hash seat id -> status letter (A available, H held, S sold)
  KEYS[2] free       best-available data (the seating include): free-seat bitmap,
  KEYS[3] seating    static layout hash,
  KEYS[4] runs       34-byte slot per row and section (the seating include, docs/seating.md),
  KEYS[5] seat info  static seat ids, qualities and flags
  KEYS[6] lease      the performance's rebuild lease (the seating-build include)

  ARGV[1] first row index, ARGV[2] last row index (inclusive; row indexes count from 0)
  ARGV[3] the format the caller builds (SEATING_FORMAT): KEYS[3]'s 'ready' must be it, complete
          (a repair) or being built ('building <format>', seating-format.lua)
  ARGV[4] the rebuild lease's token the caller builds under ('' for a build without one: a first
          registration); when given, KEYS[6] must still hold it

  Returns the number of free seats in those rows; -1 (nothing written) when 'ready' is not
  ARGV[3]'s: a newer version began building its format, whose slots this one must not write; -2
  (nothing written) when the lease is no longer the caller's: another process builds (or built)
  the data since, from its own read of the layout.
]]
--- @keys 6
--- @include "seating"
--- @include "seating-build"
local seatsKey = KEYS[1]
local seating = { free = KEYS[2], layout = KEYS[3], runs = KEYS[4], info = KEYS[5] }
local firstRow, lastRow, format = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local refusal = seatingBuildRefusal(seating.layout, KEYS[6], format, ARGV[4])
if refusal then return refusal end

local free = 0
local sections, order = {}, {}
for row = firstRow, lastRow do
  local record = redis.call('HGET', seating.layout, 'r' .. row)
  local first, seats, section = string.match(record, '^(%d+),(%d+),(%d+)')
  first, seats = tonumber(first), tonumber(seats)
  local info = redis.call('GETRANGE', seating.info, 8 * first, 8 * (first + seats) - 1)
  local ids = {}
  for i = 1, seats do
    local b1, b2, b3, b4 = string.byte(info, 8 * (i - 1) + 1, 8 * (i - 1) + 4)
    ids[i] = tostring(((b1 * 256 + b2) * 256 + b3) * 256 + b4)
  end
  local letters = redis.call('HMGET', seatsKey, unpack(ids))
  local bits = {}
  for i = 1, seats do
    bits[i] = letters[i] == 'A'
    redis.call('SETBIT', seating.free, first + i - 1, bits[i] and 1 or 0)
    if bits[i] then free = free + 1 end
  end
  seatingSetSlot(seating.runs, row, seatingRowSlot(seating, first, bits))
  redis.call('HDEL', seating.layout, 'w' .. row)
  if not sections[section] then
    sections[section] = true
    order[#order + 1] = section
  end
end
for _, section in ipairs(order) do seatingRefreshSection(seating, section) end
return free
