--[[
  Closes a performance to sales, atomically with its seat state: from the next command on, the
  hold and purchase scripts refuse it (SALES_CLOSED). Answers the counts at the moment of closing,
  so a caller that must not go on while seats are sold (deleting the event) reads them after the
  last sale that could happen. Closing again changes nothing.

  KEYS[1] meta    hash: salesOpenAt, currency, closed (1 when closed); missing = not registered
  KEYS[2] counts  hash total, available, held, sold

  Returns one of
    {'CLOSED', sold, held}
    {'NO_PERFORMANCE'}
]]
--- @keys 2
local metaKey, countsKey = KEYS[1], KEYS[2]

if redis.call('EXISTS', metaKey) == 0 then return {'NO_PERFORMANCE'} end
redis.call('HSET', metaKey, 'closed', '1')
local counts = redis.call('HMGET', countsKey, 'sold', 'held')
return {'CLOSED', tonumber(counts[1] or '0'), tonumber(counts[2] or '0')}
