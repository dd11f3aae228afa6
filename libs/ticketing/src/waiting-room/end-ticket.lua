--[[
  Ends a ticket for its owner: leaving the queue (reason LEFT, from any live state) or finishing
  the session with a purchase (reason DONE, only from a slot). Frees its place or its slot.
  A ticket that has ended already changes nothing and answers why it ended, as queue-ticket.lua
  reads it: a slot past its end counts as EXPIRED for LEFT even before admit.lua frees it; a
  ticket of a removed room is CLOSED, a live one of a canceled performance CANCELED. A LEFT reads
  the room's clock as a poll does, recording the read (room-clock.lua with the room's pollAfterMs):
  a leave that is the first to reach the room after a stretch nobody saw (Redis down) stops the
  clock for that stretch before it looks at the slot, so a buyer whose slot the outage did not run
  out (as the next step or poll will have it) leaves LEFT, not EXPIRED.

  KEYS[1] owners    hash ticket -> user
  KEYS[2] pre       sorted set
  KEYS[3] waiting   sorted set
  KEYS[4] seen      sorted set
  KEYS[5] active    sorted set ticket -> end of its slot (ms, the room's clock: room-clock.lua)
  KEYS[6] ended     hash ticket -> reason
  KEYS[7] sessions  hash
  KEYS[8] eta       hash
  KEYS[9] closed    hash ticket -> user, of a removed room's tickets
  KEYS[10] meta     the performance's meta hash: its status CANCELED has ended every live ticket;
                    PAUSED stops the room's clock
  KEYS[11] state    hash: the room's clock (frozenMs, pausedAt, clockAt)
  KEYS[12] config   hash: pollAfterMs, the unseen stretch that stops the room's clock

  ARGV[1] ticket id
  ARGV[2] user id
  ARGV[3] reason: 'LEFT' or 'DONE'

  Returns one of
    {'ENDED'}
    {'NOT_FOUND'}              not the user's ticket
    {'ALREADY_ENDED', reason}  reason LEFT, DROPPED, EXPIRED, DONE, CLOSED or CANCELED
    {'NOT_ADMITTED'}           DONE without a slot
]]
--- @keys 12
--- @include "redis-time"
--- @include "room-clock"
local ownersKey, preKey, waitingKey, seenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local activeKey, endedKey, sessionsKey, etaKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local closedKey, metaKey, stateKey, configKey = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local ticket, userId, reason = ARGV[1], ARGV[2], ARGV[3]

if redis.call('HGET', ownersKey, ticket) ~= userId then
  if redis.call('HGET', closedKey, ticket) == userId then return {'ALREADY_ENDED', 'CLOSED'} end
  return {'NOT_FOUND'}
end
local endedAs = redis.call('HGET', endedKey, ticket)
if endedAs then return {'ALREADY_ENDED', endedAs} end
local status = redis.call('HGET', metaKey, 'status')
if status == 'CANCELED' then return {'ALREADY_ENDED', 'CANCELED'} end
-- A purchase's DONE still ends a slot past its end (the purchase used the slot in time).
if reason == 'LEFT' then
  local slotEndsAt = redis.call('ZSCORE', activeKey, ticket)
  local pollAfterMs = tonumber(redis.call('HGET', configKey, 'pollAfterMs'))
  if slotEndsAt and tonumber(slotEndsAt) <= roomClock(stateKey, status, redisNow(), pollAfterMs) then
    return {'ALREADY_ENDED', 'EXPIRED'}
  end
end
local hadSlot = redis.call('ZREM', activeKey, ticket) == 1
if reason == 'DONE' and not hadSlot then return {'NOT_ADMITTED'} end
redis.call('ZREM', preKey, ticket)
redis.call('ZREM', waitingKey, ticket)
redis.call('ZREM', seenKey, ticket)
redis.call('HDEL', sessionsKey, ticket)
redis.call('HDEL', etaKey, ticket)
redis.call('HSET', endedKey, ticket, reason)
return {'ENDED'}
