--[[
  Closes a performance to sales for a delete, atomically with its seat state: from the next
  command on, the hold and purchase scripts refuse it (SALES_CLOSED). Answers the counts at the
  moment of closing, so a caller that must not go on while seats are sold (deleting the event)
  reads them after the last sale that could happen. Closing again changes nothing. A performance
  with a sold seat or an unwritten stream entry is not closed at all (KEPT_OPEN): its delete is
  refused anyway, and closing it meanwhile would refuse buyers' purchases after their charge.

  It also answers how many entries the purchase stream holds: purchases and cancellations `batch`
  has not written to PostgreSQL yet (an entry is deleted only after its write committed). No sale
  lands after this, and a cancel or refund needs a purchase, which is then either in the stream
  (counted here) or already in PostgreSQL: a delete that finds neither deletes no purchase.

  KEYS[1] meta    hash: salesOpenAt, currency, closed (1 when closed); missing = not registered
  KEYS[2] counts  hash total, available, held, sold
  KEYS[3] stream  the performance's purchase stream

  Returns one of
    {'CLOSED', sold, held, unwritten stream entries}     closed (sold and unwritten are 0)
    {'KEPT_OPEN', sold, held, unwritten stream entries}  not closed: sold or unwritten is above 0
    {'NO_PERFORMANCE'}
]]
--- @keys 3
local metaKey, countsKey, streamKey = KEYS[1], KEYS[2], KEYS[3]

if redis.call('EXISTS', metaKey) == 0 then return {'NO_PERFORMANCE'} end
local counts = redis.call('HMGET', countsKey, 'sold', 'held')
local sold, held, unwritten = tonumber(counts[1] or '0'), tonumber(counts[2] or '0'), redis.call('XLEN', streamKey)
if sold > 0 or unwritten > 0 then return {'KEPT_OPEN', sold, held, unwritten} end
redis.call('HSET', metaKey, 'closed', '1')
return {'CLOSED', sold, held, unwritten}
