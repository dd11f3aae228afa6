--[[
  Repairs seats of one performance that a lost write (a Redis failover, a restart that lost the
  last writes, a hold record gone before its seats were freed) left in a state nothing backs.
  The caller found the candidates on a snapshot (seat letters, holder entries, the purchase
  stream, PostgreSQL's tickets); every candidate is checked again here, against the state of this
  moment, so a buyer who held, bought or canceled since the snapshot is never overruled. A
  candidate whose state moved on is left alone and answered LEFT.

  Repairs (kind, seat id, x, y, a, b, buyer; a and b are positions in KEYS, 0 for none; buyer ''
  but for persisted-sale):
    unbacked-sale   the seat was S while no purchase backed it: neither a purchase entry in the
                    stream nor an active ticket in PostgreSQL. Freed (S -> A) only if it is still
                    S and no purchase appended to the stream since the snapshot (ARGV[1], ARGV[2])
                    names it; when entries appended since have already left the stream (flushed),
                    their seats are unknown here and it answers STREAM_MOVED.
    dead-hold       the seat was H with holder entry x ('' for none) and KEYS[a] the record of
                    that holder (a = 0 when there is no entry): freed (H -> A) only if the seat is
                    still H with that same entry and the record is not HELD (gone, or ended).
    persisted-sale  PostgreSQL says purchase x (of hold y, '' when unknown) sold the seat, and it
                    was A, H or B (a block written over a sale a failover had lost): made S, unless KEYS[a] (x's purchase hash, a = 0 for a sale that
                    no cancellation can undo) says CANCELED or lists the seat in its refundedSeats
                    (a cancellation or partial refund not written to PostgreSQL yet: answered
                    PENDING_CANCEL). A seat held by hold y itself ends
                    that hold as bought by x (KEYS[b], its record: status PURCHASED, out of the
                    expiry index), so it can be neither bought again nor released. A seat held by
                    any other hold is taken from it (answered REPAIRED:<that hold id>): a sale in
                    PostgreSQL is final, and that hold's purchase would sell the seat twice. The
                    seat is added to `buyer`'s tickets bought (KEYS[10]): the lost write that left
                    it unsold lost that count with it (buyer '' for a final sale: its purchase is
                    canceled; and for a box office sale: the venue's, in no account's count).
    seat-block      PostgreSQL has the seat blocked (seat_blocks) and it was A: made B. The
                    caller holds the performance's row lock FOR SHARE from its read of seat_blocks
                    until this script answered, so no block or release is in flight.
    seat-release    PostgreSQL has the seat not blocked and it was B: made A (same lock).

  KEYS[1] seats       hash seat id -> status letter (A available, H held, S sold, B blocked)
  KEYS[2] counts      hash total, available, held, sold, blocked
  KEYS[3] seat holds  hash seat id -> '<expiresAt (epoch ms)>:<hold id>' of the hold that took it
  KEYS[4] expiry      sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[5] stream      the performance's purchase stream
  KEYS[6] free        best-available data (the seating include): free-seat bitmap,
  KEYS[7] seating     static layout hash,
  KEYS[8] runs        34-byte slot per row and section (the seating include, docs/seating.md),
  KEYS[9] seat info   static seat ids, qualities and flags; kept in step with every repair that frees
                      or takes an available seat (left alone for a performance without a layout)
  KEYS[10] tickets    hash user id -> seats of the user's paid purchases not canceled
           bought
  KEYS[11..]          hold and purchase hashes the repairs name by position

  ARGV[1] the stream's last-generated-id at the snapshot ('0-0' when it did not exist)
  ARGV[2] the stream's entries-added at the snapshot (0 when it did not exist)
  ARGV[3..] repairs, seven values each (above)

  Returns one answer per repair, in order: 'REPAIRED', 'REPAIRED:<hold id>' (persisted-sale taken
  from another hold), 'LEFT', 'PENDING_CANCEL' or 'STREAM_MOVED'.
]]
--- @keys variable
--- @include "redis-time"
--- @include "seating"
local seatsKey, countsKey, seatHoldsKey, expiryKey, streamKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local snapshotId, snapshotAdded = ARGV[1], tonumber(ARGV[2])
local WIDTH = 7
local COUNTER = { A = 'available', H = 'held', S = 'sold', B = 'blocked' }
local seating = { free = KEYS[6], layout = KEYS[7], runs = KEYS[8], info = KEYS[9] }
-- Seats made available and seats taken from available, for the best-available data at the end.
local freed, taken = {}, {}

-- The one place a repair changes a seat: its letter and the counts move together.
local function move(seatId, from, to)
  redis.call('HSET', seatsKey, seatId, to)
  redis.call('HINCRBY', countsKey, COUNTER[from], -1)
  redis.call('HINCRBY', countsKey, COUNTER[to], 1)
  if to == 'A' then freed[#freed + 1] = seatId end
  if from == 'A' then taken[#taken + 1] = seatId end
end

-- Seats named by purchases appended to the stream since the snapshot, as a set; false when some
-- of those entries have left the stream already, so their seats cannot be known here.
local soldSince = nil
local function seatsSoldSince()
  if soldSince ~= nil then return soldSince end
  local lastId, added = '0-0', 0
  if redis.call('EXISTS', streamKey) == 1 then
    local info = redis.call('XINFO', 'STREAM', streamKey)
    added = nil
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then lastId = info[i + 1] end
      if info[i] == 'entries-added' then added = tonumber(info[i + 1]) end
    end
  end
  soldSince = {}
  if lastId == snapshotId then return soldSince end
  -- entries-added (Redis 7) counts every append, so fewer entries than that means some are gone.
  local appended = added and added - snapshotAdded
  if not appended or appended < 1 then
    soldSince = false
    return soldSince
  end
  local entries = redis.call('XRANGE', streamKey, '(' .. snapshotId, '+', 'COUNT', appended + 1)
  if #entries ~= appended then
    soldSince = false
    return soldSince
  end
  for _, entry in ipairs(entries) do
    local fields = {}
    for i = 1, #entry[2], 2 do fields[entry[2][i]] = entry[2][i + 1] end
    if fields['type'] == 'purchase' then
      for seatId in string.gmatch(fields['seats'] or '', '[^,]+') do soldSince[seatId] = true end
    end
  end
  return soldSince
end

-- Whether the purchase hash `purchaseKey` undoes its sale of `seatId` in a way PostgreSQL may not
-- have yet: the purchase canceled, or the seat refunded from it (an operator's partial refund,
-- refund-seats.lua, leaves the purchase PAID and lists the seat in `refundedSeats`; its ticket is
-- ACTIVE in PostgreSQL until the refund is written).
local function pendingUndo(purchaseKey, seatId)
  local purchase = redis.call('HMGET', purchaseKey, 'status', 'refundedSeats')
  if purchase[1] == 'CANCELED' then return true end
  for refunded in string.gmatch(purchase[2] or '', '[^,]+') do
    if refunded == seatId then return true end
  end
  return false
end

local answers = {}
for i = 3, #ARGV, WIDTH do
  local kind, seatId, x, y = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local a, b = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  local letter = redis.call('HGET', seatsKey, seatId)
  local answer = 'LEFT'
  if kind == 'unbacked-sale' and letter == 'S' then
    local sold = seatsSoldSince()
    if sold == false then
      answer = 'STREAM_MOVED'
    elseif not sold[seatId] then
      move(seatId, 'S', 'A')
      answer = 'REPAIRED'
    end
  elseif kind == 'dead-hold' and letter == 'H' then
    local entry = redis.call('HGET', seatHoldsKey, seatId) or ''
    if entry == x and (a == 0 or redis.call('HGET', KEYS[a], 'status') ~= 'HELD') then
      move(seatId, 'H', 'A')
      answer = 'REPAIRED'
    end
  elseif kind == 'persisted-sale' and (letter == 'A' or letter == 'H' or letter == 'B') then
    if a > 0 and pendingUndo(KEYS[a], seatId) then
      answer = 'PENDING_CANCEL'
    else
      answer = 'REPAIRED'
      if letter == 'H' then
        local holder = string.match(redis.call('HGET', seatHoldsKey, seatId) or '', '^%d+:(.+)$')
        if holder and holder ~= y then answer = 'REPAIRED:' .. holder end
      end
      move(seatId, letter, 'S')
      if ARGV[i + 6] ~= '' then redis.call('HINCRBY', KEYS[10], ARGV[i + 6], 1) end
      if b > 0 and redis.call('HGET', KEYS[b], 'status') == 'HELD' then
        redis.call('HSET', KEYS[b], 'status', 'PURCHASED', 'purchaseId', x, 'endedAt', redisNow())
        redis.call('ZREM', expiryKey, y)
      end
    end
  elseif kind == 'seat-block' and letter == 'A' then
    move(seatId, 'A', 'B')
    answer = 'REPAIRED'
  elseif kind == 'seat-release' and letter == 'B' then
    move(seatId, 'B', 'A')
    answer = 'REPAIRED'
  end
  answers[#answers + 1] = answer
end
seatingMark(seating, freed, true)
seatingMark(seating, taken, false)
return answers
