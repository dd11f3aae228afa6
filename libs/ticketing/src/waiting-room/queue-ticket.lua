--[[
  Joins a performance's waiting room (mode 'join') or reads a ticket (mode 'poll'), and answers
  where the ticket stands. Both count as a poll: the ticket's last-seen time moves to now.
  A user has one live ticket per performance: joining again answers the same ticket; a user
  whose ticket has ended (left, dropped, expired, done) gets a new one at the back.
  Before opensAt a new ticket joins the pre-queue (shuffled at the opening); after it, the
  waiting line in arrival order, behind the whole pre-queue.

  KEYS[1] config    hash (see waiting-room-keys.ts)
  KEYS[2] state     hash
  KEYS[3] pre       sorted set ticket -> arrival number
  KEYS[4] waiting   sorted set ticket -> place
  KEYS[5] seen      sorted set ticket -> last poll (epoch ms)
  KEYS[6] active    sorted set ticket -> end of its slot (ms, the room's clock: room-clock.lua)
  KEYS[7] users     hash user -> ticket
  KEYS[8] owners    hash ticket -> user
  KEYS[9] ended     hash ticket -> reason
  KEYS[10] admitted hash ticket -> '<admission time (epoch ms)>:<the same on the room's clock>'
  KEYS[11] eta      hash ticket -> predicted admission time (epoch ms)
  KEYS[12] opening  hash ticket -> '<arrival>:<opening position>'
  KEYS[13] closed   hash ticket -> user, of a removed room's tickets (see waiting-room-keys.ts)
  KEYS[14] meta     the performance's meta hash (../redis-keys.ts): its status CANCELED ends every
                    ticket, PAUSED stops the room's clock
  KEYS[15] counts   the performance's counts hash (../redis-keys.ts): why admission is halted, if it is

  ARGV[1] 'join' or 'poll'
  ARGV[2] user id
  ARGV[3] ticket id: the id a new ticket takes (join), or the ticket asked for (poll)

  A canceled performance takes no one: a join answers CANCELED (queue or not), a poll of a live
  ticket ENDED with reason CANCELED. A poll of a ticket of a removed room (its owner's, as the
  closed hash tells) answers ENDED with reason CLOSED.

  Returns one of
    {'NO_QUEUE'}
    {'CANCELED'}                       join of a canceled performance
    {'NOT_FOUND'}                      poll of a ticket that is not the user's
    {'ENDED', ticket, reason}          reason LEFT, DROPPED, EXPIRED, DONE, CLOSED or CANCELED
    {'ADMITTED', ticket, admittedAt, slotEndsAt, admissionTtlMs, sessionTtlMs, opening, tokenUntil,
     tokenUntilAt}
    {'WAITING', ticket, position (0 while the pre-queue is not shuffled), etaMs, pollAfterMs, opening, halt}
  where slotEndsAt (epoch ms) is when the slot ends if the room's clock runs from now on (while the
  sale is paused it moves on with the pause), tokenUntil the admission's last moment on the room's
  clock (admission + admissionTtlMs + sessionTtlMs: the admission token's `exp`, which
  use-admission.lua checks on that clock) and tokenUntilAt the same in epoch ms as slotEndsAt is;
  opening is '<arrival>:<opening position>' for a shuffled pre-queue ticket, else '', and halt
  why admit.lua admits no one now (admission-halt.lua: PAUSED, CLOSED, ENDED, SALES_NOT_OPEN,
  SOLD_OUT), else ''
  (etaMs does not count a halt: nobody knows when it ends).
]]
--- @keys 15
--- @include "redis-time"
--- @include "admission-halt"
--- @include "room-clock"
local configKey, stateKey, preKey, waitingKey, seenKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local usersKey, ownersKey, endedKey, admittedKey, etaKey, openingKey = KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local closedKey, metaKey, countsKey = KEYS[13], KEYS[14], KEYS[15]
local mode, userId = ARGV[1], ARGV[2]

-- The cancellation first: it is final, whatever the room's state.
local status = redis.call('HGET', metaKey, 'status')
local canceled = status == 'CANCELED'
if mode == 'join' and canceled then return {'CANCELED'} end

-- A ticket of a removed room, asked for by its owner.
local function closed(ticket)
  return mode == 'poll' and redis.call('HGET', closedKey, ticket) == userId
end

local cfg = redis.call('HMGET', configKey, 'opensAt', 'admitPerSecond', 'pollAfterMs', 'opened', 'admissionTtlMs', 'sessionTtlMs', 'maxActive')
if not cfg[1] then
  if closed(ARGV[3]) then return {'ENDED', ARGV[3], 'CLOSED'} end
  return {'NO_QUEUE'}
end
local opensAt, admitPerSecond, pollAfterMs = tonumber(cfg[1]), tonumber(cfg[2]), tonumber(cfg[3])
local opened = cfg[4] == '1'

local now = redisNow()
local roomNow = roomClock(stateKey, status, now, pollAfterMs)

-- Why a ticket has ended, or nil. A slot past its end is over even before admit.lua frees it.
local function endReason(ticket)
  local reason = redis.call('HGET', endedKey, ticket)
  if reason then return reason end
  local slotEndsAt = redis.call('ZSCORE', activeKey, ticket)
  if slotEndsAt and tonumber(slotEndsAt) <= roomNow then return 'EXPIRED' end
  return nil
end

local ticket
if mode == 'join' then
  ticket = redis.call('HGET', usersKey, userId)
  if ticket and endReason(ticket) then ticket = false end
  if not ticket then
    ticket = ARGV[3]
    local seq = redis.call('HINCRBY', stateKey, 'seq', 1)
    if now < opensAt then
      redis.call('ZADD', preKey, seq, ticket)
    else
      redis.call('ZADD', waitingKey, 1e13 + seq, ticket)
    end
    redis.call('HSET', usersKey, userId, ticket)
    redis.call('HSET', ownersKey, ticket, userId)
  end
else
  ticket = ARGV[3]
  if redis.call('HGET', ownersKey, ticket) ~= userId then
    -- A room set again after a removal: the old room's tickets still read CLOSED.
    if closed(ticket) then return {'ENDED', ticket, 'CLOSED'} end
    return {'NOT_FOUND'}
  end
end

local reason = endReason(ticket)
if reason then return {'ENDED', ticket, reason} end
if canceled then return {'ENDED', ticket, 'CANCELED'} end
local opening = redis.call('HGET', openingKey, ticket) or ''

local slotEndsAt = redis.call('ZSCORE', activeKey, ticket)
if slotEndsAt then
  -- An admission of a version before the room's clock has no room time: its clock time is its epoch
  -- time (the clock had not stood still for it).
  local admittedAt, admittedRoomAt = string.match(redis.call('HGET', admittedKey, ticket), '^(%d+):?(%d*)$')
  if admittedRoomAt == '' then admittedRoomAt = admittedAt end
  local tokenUntil = tonumber(admittedRoomAt) + tonumber(cfg[5]) + tonumber(cfg[6])
  local shift = now - roomNow
  return {'ADMITTED', ticket, admittedAt, tonumber(slotEndsAt) + shift, cfg[5], cfg[6], opening, tokenUntil,
    tokenUntil + shift}
end

local position = redis.call('ZRANK', waitingKey, ticket)
if position then
  position = position + 1
  -- Until the shuffle, the whole pre-queue stands ahead of every later arrival.
  if not opened then position = position + redis.call('ZCARD', preKey) end
elseif redis.call('ZSCORE', preKey, ticket) then
  position = 0
else
  return redis.error_reply('waiting-room ticket ' .. ticket .. ' is nowhere')
end

redis.call('ZADD', seenKey, now, ticket)
local rate = tonumber(redis.call('HGET', stateKey, 'rate') or '0') or 0
if rate <= 0 then rate = admitPerSecond end
local untilOpening = math.max(0, opensAt - now)
-- A pre-queue ticket's place is unknown until the shuffle: its expected place is the middle.
local expected = position
if position == 0 then expected = (redis.call('ZCARD', preKey) + 1) / 2 end
local etaMs = untilOpening + math.floor(expected * 1000 / rate)
-- Past the free slots, a ticket's turn also waits for admitted buyers' slots to end: at the latest
-- the end of the k-th earliest slot, k the slots it needs beyond the free ones (at most the slots
-- taken, whose ends are known). Without it a full room read as moving at admitPerSecond.
local maxActive = tonumber(cfg[7]) or 0
local taken = redis.call('ZCARD', activeKey)
local needed = math.min(math.ceil(expected) - math.max(0, maxActive - taken), taken)
if needed > 0 then
  local slot = redis.call('ZRANGE', activeKey, needed - 1, needed - 1, 'WITHSCORES')
  etaMs = math.max(etaMs, untilOpening + math.max(0, tonumber(slot[2]) - roomNow))
end
redis.call('HSET', etaKey, ticket, now + etaMs)
return {'WAITING', ticket, position, etaMs, pollAfterMs, opening, admissionHalt(metaKey, countsKey, now) or ''}
