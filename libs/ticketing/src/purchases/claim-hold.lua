--[[
  The pre-check of a purchase, which also claims the hold for this purchase attempt: reads the
  hold's fields the purchase checks before charging and the performance's sales state, with Redis
  TIME, and when the hold is the caller's, HELD, not expired and priced (amount and currency) and
  its performance sells now, gives it to this attempt for `lease` ms, unless another attempt's
  claim is still live. So only one purchase attempt of a hold reaches the payment gateway at a
  time, and none while sales are paused, closed, ended or not open yet; purchase.lua sells only
  for the claiming attempt (or when the claim has lapsed) and checks the sales state again (it
  may change during the charge). The claim is two fields of the hold hash: claimedBy (the
  attempt's purchase id) and claimedUntil (epoch ms, Redis time). A retry with the same
  Idempotency-Key has the same purchase id, so it is the same attempt and takes its own claim
  again (a fresh lease).

  KEYS[1] hold  hash of the hold
  KEYS[2] meta  hash of the hold's performance (same Cluster slot: both carry {perf:<id>}):
                salesOpenAt (epoch ms), closed (the sales-closure include), status (PAUSED,
                CLOSED or CANCELED; absent = ON_SALE), salesCloseAt (epoch ms); gone when it was deleted

  ARGV[1] user id of the caller
  ARGV[2] purchase id of this attempt
  ARGV[3] lease (ms): the claim lapses this long from now unless renewed (renew-hold-claim.lua,
          while the attempt charges and sells); a crashed attempt's claim ends so
  ARGV[4] '1' on the operator path (CompService, BoxOfficeService), '' for a buyer's purchase: an
          operator's hold (one with a `comp` note or a `boxOffice` payment method) is claimable
          only on the operator path, and only an operator's hold there; otherwise it is answered as
          no hold at all (every field nil, claim NONE), as purchase.lua refuses it

  Returns {claim, now (epoch ms), userId, status, expiresAt, amount, currency, purchaseId,
  salesRefusal, salesOpenAt, boxOffice}: the hold's fields as stored (nil when absent); boxOffice
  the payment method a box office sale's hold records (hold-comp-seats.lua: paid at the window, so
  never charged through the gateway; its window as purchase.lua's), nil for any other; salesRefusal, only
  for the caller's HELD hold (or one its performance's cancellation RELEASED: endReason
  PERFORMANCE_CANCELED), nil when its performance sells now (for a comp's hold, one with a `comp`
  note: unless it is CANCELED or deleted, whatever its sales window), else PAUSED, CLOSED or CANCELED
  (status, or CLOSED when deleted), ENDED (at or past salesCloseAt) or NOT_OPEN (before salesOpenAt, then given in
  epoch ms, as purchase.lua's refusals; never for a presale's hold, one with `presale`); claim one of
    'CLAIMED'  the hold is this attempt's now; it was unclaimed, or another attempt's claim had lapsed
    'OWN'      this attempt (same purchase id) had claimed it already; its lease starts again
    'BUSY'     another attempt's claim is live: nothing changed
    'NONE'     not claimable (not the caller's, not HELD, expired, unpriced, or its performance
               does not sell now): nothing changed
]]
--- @keys 2
--- @include "redis-time"
--- @include "sales-closure"
local holdKey, metaKey = KEYS[1], KEYS[2]
local userId, purchaseId, lease, operatorPath = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'

local now = redisNow()
local hold = redis.call('HMGET', holdKey,
  'userId', 'status', 'expiresAt', 'amount', 'currency', 'purchaseId', 'claimedBy', 'claimedUntil', 'endReason', 'comp',
  'boxOffice', 'presale')
-- An operator's hold (a comp's or a box office sale's) off the operator path (or a buyer's on it) is
-- not the caller's to see: the owner of one whose api died before its purchase finds no hold to
-- buy (a 404).
if ((hold[10] or hold[11]) and true or false) ~= operatorPath then
  return {'NONE', now, false, false, false, false, false, false, false, false, false}
end
local claim, salesRefusal, salesOpenAt = 'NONE', nil, nil
-- A hold its performance's cancellation ended (end-canceled-holds.lua) is refused as a live one
-- of the canceled performance is: SalesClosed CANCELED.
local endedByCancel = hold[2] == 'RELEASED' and hold[9] == 'PERFORMANCE_CANCELED'
if hold[1] == userId and (hold[2] == 'HELD' or endedByCancel) then
  -- The same order as purchase.lua, so both answer a closed sale alike.
  local meta = redis.call('HMGET', metaKey, 'salesOpenAt', 'closed', 'status', 'salesCloseAt')
  if not meta[1] or (meta[2] and closureStands(meta[2], now)) then
    salesRefusal = 'CLOSED'
  elseif hold[10] then
    -- A comp's hold (hold-comp-seats.lua) is sold whatever the sales window: only a canceled
    -- performance (or one being deleted, above) refuses it.
    if meta[3] == 'CANCELED' then salesRefusal = 'CANCELED' end
  elseif hold[11] then
    -- A box office sale's hold: from the on-sale on, whatever salesCloseAt or a CLOSED status say.
    if meta[3] == 'CANCELED' or meta[3] == 'PAUSED' then
      salesRefusal = meta[3]
    elseif now < tonumber(meta[1]) then
      salesRefusal, salesOpenAt = 'NOT_OPEN', meta[1]
    end
  elseif meta[3] then
    salesRefusal = meta[3]
  elseif meta[4] and now >= tonumber(meta[4]) then
    salesRefusal = 'ENDED'
  elseif now < tonumber(meta[1]) and not hold[12] then
    -- A presale's hold (`presale`: its access code let it in) is sold before the on-sale too.
    salesRefusal, salesOpenAt = 'NOT_OPEN', meta[1]
  end
end
if not salesRefusal and hold[1] == userId and hold[2] == 'HELD' and (tonumber(hold[3]) or 0) > now
    and hold[4] and hold[5] then
  local claimedBy = hold[7]
  if claimedBy and claimedBy ~= purchaseId and (tonumber(hold[8]) or 0) > now then
    claim = 'BUSY'
  else
    claim = claimedBy == purchaseId and 'OWN' or 'CLAIMED'
    redis.call('HSET', holdKey, 'claimedBy', purchaseId, 'claimedUntil', now + lease)
  end
end
-- false, not nil: a nil would end the reply's array there (Redis answers false as nil).
local reply = {claim, now}
for i = 1, 6 do reply[#reply + 1] = hold[i] or false end
reply[#reply + 1] = salesRefusal or false
reply[#reply + 1] = salesOpenAt or false
reply[#reply + 1] = hold[11] or false
return reply
