--[[
  Checks that an admitted ticket still holds its slot, at a hold or a purchase. The first use
  starts the session: the slot then ends sessionTtlMs after it instead of admissionTtlMs after
  the admission.

  KEYS[1] config    hash
  KEYS[2] active    sorted set ticket -> end of its slot (epoch ms)
  KEYS[3] sessions  hash ticket -> session start (epoch ms)

  ARGV[1] ticket id

  Returns 'OK' or 'NOT_ADMITTED' (no slot, or its time is over; the queue may also be off: 'NO_QUEUE').
]]
local configKey, activeKey, sessionsKey = KEYS[1], KEYS[2], KEYS[3]
local ticket = ARGV[1]

local sessionTtlMs = redis.call('HGET', configKey, 'sessionTtlMs')
if not sessionTtlMs then return 'NO_QUEUE' end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local slotEndsAt = redis.call('ZSCORE', activeKey, ticket)
if not slotEndsAt or tonumber(slotEndsAt) <= now then return 'NOT_ADMITTED' end
if redis.call('HSETNX', sessionsKey, ticket, now) == 1 then
  redis.call('ZADD', activeKey, 'XX', now + tonumber(sessionTtlMs), ticket)
end
return 'OK'
