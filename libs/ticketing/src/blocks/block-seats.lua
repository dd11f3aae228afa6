--[[
  Takes seats of one performance off sale (an operator's block: sound desk, camera, house seats):
  all the given seats or none. A seat AVAILABLE becomes BLOCKED (letter B); one BLOCKED already
  stays so (idempotent); one held by a live hold or sold refuses the whole request, nothing
  changed. A seat still marked held by a hold that has expired (by Redis TIME, its holder entry)
  is taken from that hold: the hold can no longer be bought (purchase.lua refuses an expired
  hold), and its end frees only the seats still H and still its own (freeSeats: the holder
  entry), so the seat stays blocked, or stays with a later hold once released and held again. The
  hold scripts require A, so they refuse a blocked seat with no change of theirs; the
  best-available data gets the seats' bits cleared and their rows refreshed here.

  KEYS[1] meta        hash: `currency` (present = registered)
  KEYS[2] seats       hash seat id -> status letter (A available, H held, S sold, B blocked)
  KEYS[3] counts      hash total, available, held, sold, blocked
  KEYS[4] seat holds  hash seat id -> '<expiresAt (epoch ms)>:<hold id>' of the hold that took it last
  KEYS[5] free        best-available data (the seating include): free-seat bitmap,
  KEYS[6] seating     static layout hash,
  KEYS[7] runs        34-byte slot per row and section (docs/seating.md),
  KEYS[8] seat info   static seat ids, qualities and flags; left alone without a layout

  ARGV[1]   mode: 'all' (all or none, as above) or 'free' (onlyFree: the seats held by a live
            hold or sold are skipped, the others blocked; decided here, in the same run, so a
            buyer's hold racing the block takes a seat or the block does, never both)
  ARGV[2..] seat ids (distinct)

  Returns one of
    {'OK', seats newly blocked, of them taken from expired holds}
    {'OK', seats newly blocked, of them taken from expired holds, seat id, letter, ...}  mode
                                    'free': the seats skipped, held (H) or sold (S)
    {'NO_PERFORMANCE'}              not registered (Redis lost it: the caller rebuilds it first)
    {'UNKNOWN_SEATS', seat id, ...}
    {'UNAVAILABLE', seat id, letter, seat id, letter, ...}  mode 'all': held (H) or sold (S);
                                    nothing changed
]]
--- @keys 8
--- @include "redis-time"
--- @include "seating"
local metaKey, seatsKey, countsKey, seatHoldsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local seating = { free = KEYS[5], layout = KEYS[6], runs = KEYS[7], info = KEYS[8] }

local onlyFree = ARGV[1] == 'free'
local seatIds = {}
for i = 2, #ARGV do seatIds[i - 1] = ARGV[i] end

if redis.call('HEXISTS', metaKey, 'currency') == 0 then return {'NO_PERFORMANCE'} end
local letters = redis.call('HMGET', seatsKey, unpack(seatIds))
local unknown = {}
for i = 1, #seatIds do
  if not letters[i] then unknown[#unknown + 1] = seatIds[i] end
end
if #unknown > 0 then return {'UNKNOWN_SEATS', unpack(unknown)} end

local holders = nil
local now = nil
local unavailable, fromFree, fromExpired = {}, {}, {}
for i = 1, #seatIds do
  local letter = letters[i]
  if letter == 'A' then
    fromFree[#fromFree + 1] = seatIds[i]
  elseif letter == 'H' then
    -- Read only when a seat is held: the usual block meets free seats.
    if not holders then
      holders = redis.call('HMGET', seatHoldsKey, unpack(seatIds))
      now = redisNow()
    end
    local expiresAt = tonumber(string.match(holders[i] or '', '^(%d+):'))
    if expiresAt and expiresAt <= now then
      fromExpired[#fromExpired + 1] = seatIds[i]
    else
      unavailable[#unavailable + 1] = seatIds[i]
      unavailable[#unavailable + 1] = letter
    end
  elseif letter ~= 'B' then
    unavailable[#unavailable + 1] = seatIds[i]
    unavailable[#unavailable + 1] = letter
  end
end
if #unavailable > 0 and not onlyFree then return {'UNAVAILABLE', unpack(unavailable)} end

local blocked = {}
for _, seatId in ipairs(fromFree) do blocked[#blocked + 1] = seatId end
for _, seatId in ipairs(fromExpired) do blocked[#blocked + 1] = seatId end
if #blocked == 0 then return {'OK', 0, 0, unpack(unavailable)} end
local fields = {}
for _, seatId in ipairs(blocked) do
  fields[#fields + 1] = seatId
  fields[#fields + 1] = 'B'
end
redis.call('HSET', seatsKey, unpack(fields))
-- Seats of expired holds have their bits cleared already; only free seats' rows change.
seatingMarkRows(seating, fromFree, false)
-- Guarded: HINCRBY refuses Lua's -0.
if #fromFree > 0 then redis.call('HINCRBY', countsKey, 'available', -#fromFree) end
if #fromExpired > 0 then redis.call('HINCRBY', countsKey, 'held', -#fromExpired) end
redis.call('HINCRBY', countsKey, 'blocked', #blocked)
return {'OK', #blocked, #fromExpired, unpack(unavailable)}
