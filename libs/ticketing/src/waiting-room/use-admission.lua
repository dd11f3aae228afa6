--[[
  Checks that an admitted ticket still holds its slot, at a hold or a purchase. The first use
  starts the session: the slot then ends sessionTtlMs after it instead of admissionTtlMs after
  the admission. A purchase may also use a ticket whose session a purchase ended (DONE): a
  retried purchase (Idempotency-Key) must get its first answer, and the holds it may buy were
  made while the slot was held, or before the queue was turned on (made under no queue, they are
  the buyer's to buy until they expire: a hold's lifetime at most).

  KEYS[1] config    hash
  KEYS[2] active    sorted set ticket -> end of its slot (epoch ms)
  KEYS[3] sessions  hash ticket -> session start (epoch ms)
  KEYS[4] ended     hash ticket -> reason
  KEYS[5] meta      the performance's meta hash: its status CANCELED is answered first

  ARGV[1] ticket id
  ARGV[2] 'hold' or 'purchase'

  Returns 'OK', 'NOT_ADMITTED' (no slot, or its time is over), 'NO_QUEUE' (the queue is off) or
  'CANCELED' (the performance was canceled: no admission applies, the hold or purchase script
  refuses it as canceled).
]]
--- @keys 5
--- @include "redis-time"
local configKey, activeKey, sessionsKey, endedKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ticket, use = ARGV[1], ARGV[2]

if redis.call('HGET', metaKey, 'status') == 'CANCELED' then return 'CANCELED' end
local sessionTtlMs = redis.call('HGET', configKey, 'sessionTtlMs')
if not sessionTtlMs then return 'NO_QUEUE' end
local now = redisNow()
local slotEndsAt = redis.call('ZSCORE', activeKey, ticket)
if not slotEndsAt or tonumber(slotEndsAt) <= now then
  if use == 'purchase' and redis.call('HGET', endedKey, ticket) == 'DONE' then return 'OK' end
  return 'NOT_ADMITTED'
end
if redis.call('HSETNX', sessionsKey, ticket, now) == 1 then
  redis.call('ZADD', activeKey, 'XX', now + tonumber(sessionTtlMs), ticket)
end
return 'OK'
