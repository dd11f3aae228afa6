--[[
  Cancels the caller's paid purchase: its seats become AVAILABLE again, the counters move
  from sold to available, the purchase is marked CANCELED and the cancellation is appended to
  the performance's purchase stream, so `batch` writes it to PostgreSQL whether or not the
  purchase itself was written there yet. Redis TIME is the only clock.

  When the purchase record is no longer in Redis (written to PostgreSQL long ago), the caller
  passes the record read from PostgreSQL, and it is put back first.

  KEYS[1] seats     hash seat id -> status letter (A available, H held, S sold)
  KEYS[2] counts    hash total, available, held, sold
  KEYS[3] purchase  hash of the purchase
  KEYS[4] stream    the performance's purchase stream
  KEYS[5] meta      hash of the performance: cancelUntil (epoch ms, or 'none' when buyers may not
                    cancel; absent = no limit)

  ARGV[1] purchase id
  ARGV[2] user id of the caller
  ARGV[3..] optional: the persisted record as field, value pairs (used only when KEYS[3] is missing)

  Returns one of
    {'CANCELED', canceledAt (epoch ms), charge id}
    {'NOT_FOUND'}          no such purchase, or not the caller's
    {'ALREADY_CANCELED'}
    {'CANCEL_CLOSED', cancelUntil (epoch ms, or 'none')}  Redis TIME is past cancelUntil
]]
--- @keys 5
--- @include "redis-time"
--- @include "free-seats"
local seatsKey, countsKey, purchaseKey, streamKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local purchaseId, userId = ARGV[1], ARGV[2]

local now = redisNow()
local cancelUntil = redis.call('HGET', metaKey, 'cancelUntil')
local cancelClosed = cancelUntil == 'none' or (cancelUntil and now > tonumber(cancelUntil))

if redis.call('EXISTS', purchaseKey) == 0 and #ARGV > 2 then
  -- The caller checked the persisted record's owner; a refused cancel leaves no record behind.
  if cancelClosed then return {'CANCEL_CLOSED', cancelUntil} end
  local persisted = {}
  for i = 3, #ARGV do persisted[#persisted + 1] = ARGV[i] end
  redis.call('HSET', purchaseKey, unpack(persisted))
end

local purchase = redis.call('HMGET', purchaseKey, 'userId', 'status', 'seats', 'chargeId')
if purchase[1] ~= userId then return {'NOT_FOUND'} end
if purchase[2] == 'CANCELED' then return {'ALREADY_CANCELED'} end

if cancelClosed then return {'CANCEL_CLOSED', cancelUntil} end

freeSeats(seatsKey, countsKey, purchase[3], 'sold')

redis.call('HSET', purchaseKey, 'status', 'CANCELED', 'canceledAt', now)
-- Kept until the cancellation is written to PostgreSQL; the flusher gives it a TTL then.
redis.call('PERSIST', purchaseKey)
redis.call('XADD', streamKey, '*', 'type', 'cancel', 'purchaseId', purchaseId, 'userId', userId, 'canceledAt', now)
return {'CANCELED', now, purchase[4] or ''}
