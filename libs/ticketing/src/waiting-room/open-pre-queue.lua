--[[
  Opens a waiting room: moves the pre-queue, in the order the caller computed from the seed
  (shuffle.ts), to the head of the waiting line, once. The caller read the pre-queue in
  arrival order; if it changed since (a ticket dropped out or left), nothing happens and the
  caller reads it again.

  KEYS[1] config   hash
  KEYS[2] pre      sorted set ticket -> arrival number
  KEYS[3] waiting  sorted set ticket -> place
  KEYS[4] opening  hash ticket -> '<arrival>:<opening position>'

  ARGV[1] n, the size of the pre-queue the caller read
  ARGV[2 .. n+1]       the pre-queue's tickets in arrival order (arrival numbers 1 .. n)
  ARGV[n+2 .. 2n+1]    the opening position of each of them, in the same order

  Returns 'OPENED', 'ALREADY_OPEN', 'NOT_DUE' (before opensAt), 'CHANGED' or 'NO_QUEUE'.
]]
--- @keys 4
--- @include "redis-time"
local configKey, preKey, waitingKey, openingKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local n = tonumber(ARGV[1])

local cfg = redis.call('HMGET', configKey, 'opensAt', 'opened')
if not cfg[1] then return 'NO_QUEUE' end
if cfg[2] == '1' then return 'ALREADY_OPEN' end
local now = redisNow()
if now < tonumber(cfg[1]) then return 'NOT_DUE' end

local current = redis.call('ZRANGE', preKey, 0, -1)
if #current ~= n then return 'CHANGED' end
for i = 1, n do
  if current[i] ~= ARGV[1 + i] then return 'CHANGED' end
end

for i = 1, n do
  local ticket, position = ARGV[1 + i], ARGV[1 + n + i]
  redis.call('ZADD', waitingKey, position, ticket)
  redis.call('HSET', openingKey, ticket, i .. ':' .. position)
end
redis.call('DEL', preKey)
redis.call('HSET', configKey, 'opened', 1, 'preQueueSize', n)
return 'OPENED'
