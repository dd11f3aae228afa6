--[[
  One admission step of a performance's waiting room; any number of `batch` processes may run
  it at once: each run is atomic, so no ticket is admitted twice and the bucket is shared.
  1. Slots past their end (idle admission, or session over) are freed: the ticket ends EXPIRED.
     Slots end on the room's clock (room-clock.lua), which stands still while the sale is PAUSED,
     and for a stretch of more than pollAfterMs in which no step, poll or use read it (Redis down):
     neither costs an admitted buyer any of their slot's time.
  2. Waiting and pre-queue tickets not polled for 2 x pollAfterMs drop out: DROPPED. Not for a
     silence nobody could break: after a stretch of more than pollAfterMs with no step (Redis
     down, so no poll could be recorded either, or every `batch` down), the tickets seen less than
     2 x pollAfterMs before that stretch began are spared for 2 x pollAfterMs more, long enough to
     poll again (state.stepAt, state.gapStart, state.gapEnd); the others drop as ever.
  3. Before opensAt nothing more; after it, an unshuffled pre-queue is reported (the caller
     shuffles it with open-pre-queue.lua) and nobody is admitted until then.
  4. Admits from the head of the waiting line as many as the token bucket allows (refilled at
     admitPerSecond, holding at most 200 ms of it, at least 1), the free slots (maxActive minus
     active) and ARGV[1]. An admitted ticket holds a slot for admissionTtlMs. Nobody while the
     sale refuses holds or has no seat (admission-halt.lua: PAUSED, CLOSED, ENDED, SALES_NOT_OPEN,
     SOLD_OUT):
     the line keeps its order and admission goes on once the sale does. Nor more than the seats
     available less the admitted tickets that have not held yet (active slots without a
     session): each of those buyers is there to take at least one of them, so seats coming back
     one by one at the end of an on-sale (holds expiring) admit about as many buyers as seats, not
     the line at full rate into seats already spoken for.
  Also keeps state.admitted (total), state.peakActive, state.rate (admissions per second
  measured over windows of at least 2 s) and the room's clock (state.frozenMs, state.pausedAt).

  KEYS[1] config    hash
  KEYS[2] state     hash
  KEYS[3] pre       sorted set ticket -> arrival number
  KEYS[4] waiting   sorted set ticket -> place
  KEYS[5] seen      sorted set ticket -> last poll (epoch ms)
  KEYS[6] active    sorted set ticket -> end of its slot (ms, the room's clock)
  KEYS[7] ended     hash ticket -> reason
  KEYS[8] admitted  hash ticket -> '<admission time (epoch ms)>:<the same on the room's clock>'
  KEYS[9] eta       hash ticket -> predicted admission time (epoch ms)
  KEYS[10] sessions hash ticket -> session start (epoch ms)
  KEYS[11] meta     the performance's meta hash (../redis-keys.ts): a CANCELED status admits no one,
                    PAUSED stops the room's clock
  KEYS[12] counts   the performance's counts hash (../redis-keys.ts): `available` 0 halts admission,
                    and caps it (step 4); absent (seat state not written yet) = no cap

  ARGV[1] most tickets to admit in this step
  ARGV[2] most expired slots and silent tickets to end in this step (each)

  Returns {'NO_QUEUE'}, {'CANCELED'} (the performance is canceled: nothing done, its tickets read
  ENDED CANCELED), {'NOT_OPEN', expired, dropped}, {'SHUFFLE', expired, dropped},
  {'HALTED', expired, dropped, reason} (nobody admitted: reason PAUSED, CLOSED, ENDED, SALES_NOT_OPEN
  or SOLD_OUT), or
  {'OK', expired, dropped, now, ticket1, predicted1, ticket2, predicted2, ...} for the admitted
  tickets (predicted: the admission time last announced to the ticket, '' if none).
]]
--- @keys 12
--- @include "redis-time"
--- @include "admission-halt"
--- @include "room-clock"
local configKey, stateKey, preKey, waitingKey, seenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local activeKey, endedKey, admittedKey, etaKey, sessionsKey = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local metaKey, countsKey = KEYS[11], KEYS[12]
local maxBatch, sweepLimit = tonumber(ARGV[1]), tonumber(ARGV[2])

local cfg = redis.call('HMGET', configKey, 'opensAt', 'admitPerSecond', 'maxActive', 'admissionTtlMs', 'pollAfterMs', 'opened')
if not cfg[1] then return {'NO_QUEUE'} end
local status = redis.call('HGET', metaKey, 'status')
if status == 'CANCELED' then return {'CANCELED'} end
local opensAt, rate, maxActive = tonumber(cfg[1]), tonumber(cfg[2]), tonumber(cfg[3])
local admissionTtlMs, pollAfterMs, opened = tonumber(cfg[4]), tonumber(cfg[5]), cfg[6] == '1'

local now = redisNow()
local roomNow = roomClock(stateKey, status, now, pollAfterMs)

local expired = redis.call('ZRANGEBYSCORE', activeKey, '-inf', roomNow, 'LIMIT', 0, sweepLimit)
for _, ticket in ipairs(expired) do
  redis.call('ZREM', activeKey, ticket)
  redis.call('HDEL', sessionsKey, ticket)
  redis.call('HSET', endedKey, ticket, 'EXPIRED')
end

-- A stretch with no step longer than a poll interval: the buyers' polls of it were not recorded.
local steps = redis.call('HMGET', stateKey, 'stepAt', 'gapStart', 'gapEnd')
local stepAt, gapStart, gapEnd = tonumber(steps[1]), tonumber(steps[2]), tonumber(steps[3])
if stepAt and now - stepAt > pollAfterMs then
  gapStart, gapEnd = stepAt, now
  redis.call('HSET', stateKey, 'gapStart', gapStart, 'gapEnd', gapEnd)
end
redis.call('HSET', stateKey, 'stepAt', now)
local silentBefore = now - 2 * pollAfterMs
if gapEnd and now < gapEnd + 2 * pollAfterMs then silentBefore = math.min(silentBefore, gapStart - 2 * pollAfterMs) end
local silent = redis.call('ZRANGEBYSCORE', seenKey, '-inf', silentBefore, 'LIMIT', 0, sweepLimit)
for _, ticket in ipairs(silent) do
  redis.call('ZREM', seenKey, ticket)
  redis.call('ZREM', waitingKey, ticket)
  redis.call('ZREM', preKey, ticket)
  redis.call('HDEL', etaKey, ticket)
  redis.call('HSET', endedKey, ticket, 'DROPPED')
end

if now < opensAt then return {'NOT_OPEN', #expired, #silent} end
if not opened then return {'SHUFFLE', #expired, #silent} end

local bucket = redis.call('HMGET', stateKey, 'tokens', 'tokensAt')
local tokens, tokensAt = tonumber(bucket[1]) or 0, tonumber(bucket[2]) or now
tokens = math.min(math.max(1, rate / 5), tokens + math.max(0, now - tokensAt) * rate / 1000)

local halt = admissionHalt(metaKey, countsKey, now)
local activeNow = redis.call('ZCARD', activeKey)
local count = math.min(math.floor(tokens), maxActive - activeNow, maxBatch)
if halt then count = 0 end
if count > 0 then
  local available = tonumber(redis.call('HGET', countsKey, 'available') or '')
  if available then
    local unheld = math.max(0, activeNow - redis.call('HLEN', sessionsKey))
    count = math.min(count, available - unheld)
  end
end
local reply = {'OK', #expired, #silent, now}
local admitted = 0
if count > 0 then
  local popped = redis.call('ZPOPMIN', waitingKey, count)
  for i = 1, #popped, 2 do
    local ticket = popped[i]
    redis.call('ZADD', activeKey, roomNow + admissionTtlMs, ticket)
    redis.call('ZREM', seenKey, ticket)
    redis.call('HSET', admittedKey, ticket, now .. ':' .. roomNow)
    reply[#reply + 1] = ticket
    reply[#reply + 1] = redis.call('HGET', etaKey, ticket) or ''
    redis.call('HDEL', etaKey, ticket)
    admitted = admitted + 1
  end
  tokens = tokens - admitted
  redis.call('HINCRBY', stateKey, 'admitted', admitted)
end
redis.call('HSET', stateKey, 'tokens', tostring(tokens), 'tokensAt', now)

local active = redis.call('ZCARD', activeKey)
if active > (tonumber(redis.call('HGET', stateKey, 'peakActive')) or 0) then
  redis.call('HSET', stateKey, 'peakActive', active)
end

local window = redis.call('HMGET', stateKey, 'rateAt', 'rateCount')
local rateAt, rateCount = tonumber(window[1]) or now, (tonumber(window[2]) or 0) + admitted
if now - rateAt >= 2000 then
  redis.call('HSET', stateKey, 'rate', tostring(rateCount * 1000 / (now - rateAt)), 'rateAt', now, 'rateCount', 0)
else
  redis.call('HSET', stateKey, 'rateAt', rateAt, 'rateCount', rateCount)
end
if halt then return {'HALTED', #expired, #silent, halt} end
return reply
