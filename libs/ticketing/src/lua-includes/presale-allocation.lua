--[[
  A presale's allocation (its `maxSeats`): the seats its access code took, held and sold together,
  counted in the performance's meta hash beside the presale's own field ('presale:<id>', the
  hold-taking include), so the scripts that count or give back have it in KEYS:
    'presale-max:<id>'    the allocation, a positive integer; absent = none (the hall is the limit)
    'presale-taken:<id>'  seats taken under the presale and not given back: 0 when PresaleStore
                          writes the presale, counted from PostgreSQL by a rebuild (SeatStateStore)

  A hold made with the presale's code counts its seats in the run that takes them; its purchase
  keeps them counted; the seats are given back when they come back: the hold released, expired
  (the sweep, or ended by a hold on its seats) or ended with its canceled performance, the purchase
  canceled or its seats refunded. A hold's and a purchase's record carry the presale (`presale`),
  so each is given back by the run that ends it, once, and whether its seats were counted
  (`presaleCounted` = '1', written by takeHold with the presale and copied to the purchase by
  purchase.lua): a hold made by an older version (before allocations were counted: one from before
  the upgrade, or an older api's during a roll) has a presale but was never counted, and giving
  its seats back would take them off the seats the other holds counted, letting the presale past
  its allocation (upgrade trial 2026-12-07, U2). A purchase whose record comes back from PostgreSQL
  (its hash gone after its flush) counts as counted: a rebuild counts every sale PostgreSQL has.

  presaleAllocationRefusal(metaKey, id, name, wanted, returning): nil when the presale has no
    allocation or `wanted` more seats fit in it once `returning` seats (0 or nil: none; those of
    its expired holds the caller ends in the same run) are given back, else
    {'PRESALE_EXHAUSTED', id, maxSeats, taken (less `returning`), name}.

  presaleCount(metaKey, id, seats): counts `seats` (a number) as taken under presale `id`.

  presaleGiveBack(metaKey, id, counted, seats): gives `seats` back to presale `id` (nil or false: a
    hold or purchase of no presale, nothing) when `counted` is '1' (the record's `presaleCounted`;
    anything else: its seats were never counted, nothing), only while the presale is counted: a
    deleted presale's count is gone and stays so. Never below 0.

  seatCount(seatList): the number of seat ids in a comma-separated list ('' or nil: 0).
]]
local function presaleAllocationRefusal(metaKey, id, name, wanted, returning)
  local counted = redis.call('HMGET', metaKey, 'presale-max:' .. id, 'presale-taken:' .. id)
  if not counted[1] then return nil end
  local taken = math.max(0, (tonumber(counted[2]) or 0) - (returning or 0))
  if taken + wanted > tonumber(counted[1]) then return {'PRESALE_EXHAUSTED', id, counted[1], taken, name} end
  return nil
end

local function presaleCount(metaKey, id, seats)
  redis.call('HINCRBY', metaKey, 'presale-taken:' .. id, seats)
end

local function presaleGiveBack(metaKey, id, counted, seats)
  if not id or counted ~= '1' or seats == 0 then return end
  local field = 'presale-taken:' .. id
  if redis.call('HEXISTS', metaKey, field) == 0 then return end
  if redis.call('HINCRBY', metaKey, field, -seats) < 0 then redis.call('HSET', metaKey, field, 0) end
end

local function seatCount(seatList)
  local count = 0
  for _ in string.gmatch(seatList or '', '[^,]+') do count = count + 1 end
  return count
end
