--[[
  Holds all the requested seats of one performance for one user, or none of them.
  Redis TIME is the only clock.

  KEYS[1] meta        hash: salesOpenAt (epoch ms), currency (ISO 4217); missing = performance not registered
  KEYS[2] seats       hash seat id -> status letter (A available, H held, S sold)
  KEYS[3] prices      hash seat id -> price (integer, minor units of the currency)
  KEYS[4] counts      hash total, available, held, sold
  KEYS[5] expiry      sorted set: HELD hold id, scored by its expiry (epoch ms)
  KEYS[6] user holds  hash hold id -> seat count, of this user's holds that may still be live
  KEYS[7] hold        hash of the new hold

  ARGV[1] hold id
  ARGV[2] user id
  ARGV[3] performance id
  ARGV[4] hold lifetime (ms)
  ARGV[5] most seats one user may hold on this performance across live holds
  ARGV[6] how long a hold record stays readable after it expires (ms)
  ARGV[7..] seat ids (distinct)

  Returns one of
    {'OK', expiresAt (epoch ms), amount (integer, minor units), currency (ISO 4217)}
    {'NO_PERFORMANCE'}   not registered (or registered before it had a currency)
    {'UNKNOWN_SEATS', seat id, ...}
    {'SALES_NOT_OPEN', salesOpenAt (epoch ms)}
    {'UNAVAILABLE', seat id, ...}
    {'LIMIT', seats the user already holds}
]]
local metaKey, seatsKey, pricesKey, countsKey, expiryKey, userHoldsKey, holdKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local holdId, userId, performanceId = ARGV[1], ARGV[2], ARGV[3]
local lifetime, userLimit, retention = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local seatIds = {}
for i = 7, #ARGV do seatIds[#seatIds + 1] = ARGV[i] end

local meta = redis.call('HMGET', metaKey, 'salesOpenAt', 'currency')
local salesOpenAt, currency = meta[1], meta[2]
if not salesOpenAt or not currency then return {'NO_PERFORMANCE'} end

local statuses = redis.call('HMGET', seatsKey, unpack(seatIds))
local unknown, unavailable = {}, {}
for i = 1, #seatIds do
  if not statuses[i] then
    unknown[#unknown + 1] = seatIds[i]
  elseif statuses[i] ~= 'A' then
    unavailable[#unavailable + 1] = seatIds[i]
  end
end
if #unknown > 0 then return {'UNKNOWN_SEATS', unpack(unknown)} end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if now < tonumber(salesOpenAt) then return {'SALES_NOT_OPEN', salesOpenAt} end
if #unavailable > 0 then return {'UNAVAILABLE', unpack(unavailable)} end

-- A hold is live while it is in the expiry index with a future score; entries of holds that
-- ended (expired, released, bought) are dropped here, lazily.
local alreadyHeld = 0
local userHolds = redis.call('HGETALL', userHoldsKey)
for i = 1, #userHolds, 2 do
  local expiresAt = redis.call('ZSCORE', expiryKey, userHolds[i])
  if expiresAt and tonumber(expiresAt) > now then
    alreadyHeld = alreadyHeld + tonumber(userHolds[i + 1])
  else
    redis.call('HDEL', userHoldsKey, userHolds[i])
  end
end
if alreadyHeld + #seatIds > userLimit then return {'LIMIT', alreadyHeld} end

local prices = redis.call('HMGET', pricesKey, unpack(seatIds))
local amount = 0
local heldFields = {}
for i = 1, #seatIds do
  amount = amount + tonumber(prices[i])
  heldFields[#heldFields + 1] = seatIds[i]
  heldFields[#heldFields + 1] = 'H'
end
redis.call('HSET', seatsKey, unpack(heldFields))
redis.call('HINCRBY', countsKey, 'available', -#seatIds)
redis.call('HINCRBY', countsKey, 'held', #seatIds)

local expiresAt = now + lifetime
redis.call('HSET', holdKey,
  'userId', userId,
  'performanceId', performanceId,
  'seats', table.concat(seatIds, ','),
  'amount', amount,
  'currency', currency,
  'status', 'HELD',
  'createdAt', now,
  'expiresAt', expiresAt)
redis.call('PEXPIREAT', holdKey, expiresAt + retention)
redis.call('ZADD', expiryKey, expiresAt, holdId)

redis.call('HSET', userHoldsKey, holdId, #seatIds)
-- The user-holds hash is useless once all its holds have expired; never shorten its life.
local userHoldsTtl = redis.call('PTTL', userHoldsKey)
if userHoldsTtl < 0 or now + userHoldsTtl < expiresAt then
  redis.call('PEXPIREAT', userHoldsKey, expiresAt)
end

return {'OK', expiresAt, amount, currency}
