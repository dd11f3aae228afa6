--[[
  Puts blocked seats of one performance back on sale: each given seat that is BLOCKED (letter B)
  becomes AVAILABLE; any other seat is left as it is (releasing is idempotent). The best-available
  data gets the freed seats' bits set and their rows refreshed, as freeSeats does.

  KEYS[1] meta        hash: `currency` (present = registered)
  KEYS[2] seats       hash seat id -> status letter (A available, H held, S sold, B blocked)
  KEYS[3] counts      hash total, available, held, sold, blocked
  KEYS[4] free        best-available data (the seating include): free-seat bitmap,
  KEYS[5] seating     static layout hash,
  KEYS[6] runs        34-byte slot per row and section (docs/seating.md),
  KEYS[7] seat info   static seat ids, qualities and flags; left alone without a layout

  ARGV[1..] seat ids (distinct)

  Returns one of
    {'OK', seats released}
    {'NO_PERFORMANCE'}              not registered (Redis lost it: the caller rebuilds it first)
    {'UNKNOWN_SEATS', seat id, ...}
]]
--- @keys 7
--- @include "seating"
local metaKey, seatsKey, countsKey = KEYS[1], KEYS[2], KEYS[3]
local seating = { free = KEYS[4], layout = KEYS[5], runs = KEYS[6], info = KEYS[7] }

if redis.call('HEXISTS', metaKey, 'currency') == 0 then return {'NO_PERFORMANCE'} end
local letters = redis.call('HMGET', seatsKey, unpack(ARGV))
local unknown, released, fields = {}, {}, {}
for i = 1, #ARGV do
  if not letters[i] then
    unknown[#unknown + 1] = ARGV[i]
  elseif letters[i] == 'B' then
    released[#released + 1] = ARGV[i]
    fields[#fields + 1] = ARGV[i]
    fields[#fields + 1] = 'A'
  end
end
if #unknown > 0 then return {'UNKNOWN_SEATS', unpack(unknown)} end
if #released == 0 then return {'OK', 0} end
redis.call('HSET', seatsKey, unpack(fields))
seatingMarkRows(seating, released, true)
redis.call('HINCRBY', countsKey, 'blocked', -#released)
redis.call('HINCRBY', countsKey, 'available', #released)
return {'OK', #released}
