--[[
  The pre-check of a purchase, which also claims the hold for this purchase attempt: reads the
  hold's fields the purchase checks before charging, with Redis TIME, and when the hold is the
  caller's, HELD, not expired and priced (amount and currency) gives it to this attempt for
  `lease` ms, unless another attempt's claim is still live. So only one purchase attempt of a
  hold reaches the payment gateway at a time; purchase.lua sells only for the claiming attempt
  (or when the claim has lapsed). The claim is two fields of the hold hash: claimedBy (the
  attempt's purchase id) and claimedUntil (epoch ms, Redis time). A retry with the same
  Idempotency-Key has the same purchase id, so it is the same attempt and takes its own claim
  again (a fresh lease).

  KEYS[1] hold  hash of the hold

  ARGV[1] user id of the caller
  ARGV[2] purchase id of this attempt
  ARGV[3] lease (ms): the claim lapses this long from now (a crashed attempt's claim ends so)

  Returns {claim, now (epoch ms), userId, status, expiresAt, amount, currency, purchaseId}, the
  hold's fields as stored (nil when absent), claim one of
    'CLAIMED'  the hold is this attempt's now; it was unclaimed, or another attempt's claim had lapsed
    'OWN'      this attempt (same purchase id) had claimed it already; its lease starts again
    'BUSY'     another attempt's claim is live: nothing changed
    'NONE'     not claimable (not the caller's, not HELD, expired, or unpriced): nothing changed
]]
--- @keys 1
--- @include "redis-time"
local holdKey = KEYS[1]
local userId, purchaseId, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])

local now = redisNow()
local hold = redis.call('HMGET', holdKey,
  'userId', 'status', 'expiresAt', 'amount', 'currency', 'purchaseId', 'claimedBy', 'claimedUntil')
local claim = 'NONE'
if hold[1] == userId and hold[2] == 'HELD' and (tonumber(hold[3]) or 0) > now and hold[4] and hold[5] then
  local claimedBy = hold[7]
  if claimedBy and claimedBy ~= purchaseId and (tonumber(hold[8]) or 0) > now then
    claim = 'BUSY'
  else
    claim = claimedBy == purchaseId and 'OWN' or 'CLAIMED'
    redis.call('HSET', holdKey, 'claimedBy', purchaseId, 'claimedUntil', now + lease)
  end
end
return {claim, now, hold[1], hold[2], hold[3], hold[4], hold[5], hold[6]}
