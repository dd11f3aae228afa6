--[[
  Closes a performance to sales for a delete, atomically with its seat state: from the next
  command on, the hold and purchase scripts refuse it (SALES_CLOSED). Answers the counts at the
  moment of closing, so a caller that must not go on while seats are sold (deleting the event)
  reads them after the last sale that could happen. A performance
  with a sold seat or an unwritten stream entry is not closed at all (KEPT_OPEN): its delete is
  refused anyway, and closing it meanwhile would refuse buyers' purchases after their charge.

  It also answers how many entries the purchase stream holds: purchases and cancellations `batch`
  has not written to PostgreSQL yet (an entry is deleted only after its write committed). No sale
  lands after this, and a cancel or refund needs a purchase, which is then either in the stream
  (counted here) or already in PostgreSQL: a delete that finds neither deletes no purchase.
  It answers the parked entries too (purchases PostgreSQL refused for good, moved by the flusher
  from the purchase stream to the dead-letter stream in one MULTI, so an entry is counted in one
  or the other): a buyer paid for each, and deleting the performance would erase the record the
  operator settles it from, so they keep it open as unwritten entries do.
  With ARGV[1] = 'unheld' (an event's time zone change, which any hold refuses) a live hold keeps
  it open too: its buyer's purchase must not meet a closed sale for a change that is refused anyway.

  The closure is shared by its closers: `closed` holds an entry for each caller that closed it and
  has not reopened it yet (space-separated), and reopen-sales.lua drops only the caller's own,
  opening sales when none is left. So a closure made under a performance's row lock survives
  an earlier closer (a time zone change) reopening after it released that lock: a delete waiting on
  the lock closes while the change's closure stands, and stays closed until it deletes the keys.
  Each entry is a lease (the sales-closure include): `<token>:<deadline>`, the deadline `lease` ms
  after now by Redis TIME. Its live closer renews it (renew-sales-closure.lua) until it reopens;
  a closer that died (SIGKILL, Redis lost) stops refusing sales within a lease, as the hold and
  purchase scripts count a lapsed entry as absent. A caller's token already in `closed` is not
  added twice (its lease is renewed); lapsed entries are dropped here.

  KEYS[1] meta    hash: salesOpenAt, currency, closed (closers' entries, space-separated: the
                  sales-closure include; absent when open); missing = not registered
  KEYS[2] counts  hash total, available, held, sold
  KEYS[3] stream  the performance's purchase stream
  KEYS[4] parked  the performance's dead-letter stream of parked purchase entries
  ARGV[1] 'unheld' to keep it open while a seat is held too; '' otherwise
  ARGV[2] token   the caller's own closure token (letters, digits, '-'), passed to reopen-sales.lua
  ARGV[3] lease   ms the closure stands unless renewed (SALES_CLOSURE_LEASE_MS), a positive integer

  Returns one of
    {'CLOSED', sold, held, unwritten, parked}     closed, the caller's token among the closers
                                                  (sold, unwritten and parked are 0)
    {'KEPT_OPEN', sold, held, unwritten, parked}  not closed: sold, unwritten or parked is above 0
                                                  (or held, with 'unheld')
    {'NO_PERFORMANCE'}
]]
--- @keys 4
--- @include "redis-time"
--- @include "sales-closure"
local metaKey, countsKey, streamKey, parkedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, lease = ARGV[2], tonumber(ARGV[3])
if not token or not token:match('^[%w%-]+$') then return redis.error_reply('ERR close-sales: bad token') end
if not lease or lease < 1 or lease % 1 ~= 0 then return redis.error_reply('ERR close-sales: bad lease') end

if redis.call('EXISTS', metaKey) == 0 then return {'NO_PERFORMANCE'} end
local counts = redis.call('HMGET', countsKey, 'sold', 'held')
local sold, held = tonumber(counts[1] or '0'), tonumber(counts[2] or '0')
local unwritten, parked = redis.call('XLEN', streamKey), redis.call('XLEN', parkedKey)
local keptByHolds = ARGV[1] == 'unheld' and held > 0
if sold > 0 or unwritten > 0 or parked > 0 or keptByHolds then return {'KEPT_OPEN', sold, held, unwritten, parked} end
local now = redisNow()
local entries, mine, found = standingClosers(redis.call('HGET', metaKey, 'closed'), now), token .. ':' .. (now + lease), false
for i, entry in ipairs(entries) do
  if closerToken(entry) == token then entries[i], found = mine, true end
end
if not found then entries[#entries + 1] = mine end
writeClosers(metaKey, entries)
return {'CLOSED', sold, held, unwritten, parked}
