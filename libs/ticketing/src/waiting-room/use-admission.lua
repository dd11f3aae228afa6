--[[
  Checks that an admitted ticket still holds its slot, at a hold or a purchase. The first use
  starts the session: the slot then ends sessionTtlMs after it instead of admissionTtlMs after
  the admission. A purchase may also use a ticket whose session a purchase ended (DONE): a
  retried purchase (Idempotency-Key) must get its first answer, and the holds it may buy were
  made while the slot was held, or before the queue was turned on (made under no queue, they are
  the buyer's to buy until they expire: a hold's lifetime at most). Slot ends and the token's
  `exp` are on the room's clock (room-clock.lua), which stands still while the sale is PAUSED and
  for a stretch longer than pollAfterMs nobody saw (Redis down), as admit.lua, queue-ticket.lua and
  end-ticket.lua read them: all agree on when an admission ends.

  KEYS[1] config    hash
  KEYS[2] active    sorted set ticket -> end of its slot (ms, the room's clock)
  KEYS[3] sessions  hash ticket -> session start (epoch ms)
  KEYS[4] ended     hash ticket -> reason
  KEYS[5] meta      the performance's meta hash: its status CANCELED is answered first; PAUSED
                    stops the room's clock
  KEYS[6] state     hash: the room's clock (frozenMs, pausedAt)

  ARGV[1] ticket id
  ARGV[2] 'hold' or 'purchase'
  ARGV[3] the admission token's `exp`: the admission's last moment on the room's clock (ms)

  Returns 'OK', 'NOT_ADMITTED' (no slot, its time is over, or the token's), 'NO_QUEUE' (the queue
  is off) or
  'CANCELED' (the performance was canceled: no admission applies, the hold or purchase script
  refuses it as canceled).
]]
--- @keys 6
--- @include "redis-time"
--- @include "room-clock"
local configKey, activeKey, sessionsKey, endedKey, metaKey, stateKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ticket, use, tokenUntil = ARGV[1], ARGV[2], tonumber(ARGV[3])

local status = redis.call('HGET', metaKey, 'status')
if status == 'CANCELED' then return 'CANCELED' end
local cfg = redis.call('HMGET', configKey, 'sessionTtlMs', 'pollAfterMs')
local sessionTtlMs = cfg[1]
if not sessionTtlMs then return 'NO_QUEUE' end
local now = redisNow()
-- The first use after an outage may come before the first step: it stops the clock for the outage too.
local roomNow = roomClock(stateKey, status, now, tonumber(cfg[2]))
if roomNow >= tokenUntil then return 'NOT_ADMITTED' end
local slotEndsAt = redis.call('ZSCORE', activeKey, ticket)
if not slotEndsAt or tonumber(slotEndsAt) <= roomNow then
  if use == 'purchase' and redis.call('HGET', endedKey, ticket) == 'DONE' then return 'OK' end
  return 'NOT_ADMITTED'
end
if redis.call('HSETNX', sessionsKey, ticket, now) == 1 then
  redis.call('ZADD', activeKey, 'XX', roomNow + tonumber(sessionTtlMs), ticket)
end
return 'OK'
