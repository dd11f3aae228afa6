--[[
  Renews the caller's lease on a performance's closure to sales (close-sales.lua, the
  sales-closure include): its entry in `closed` gets the deadline `lease` ms from now (Redis TIME),
  or, with 'final', no deadline at all (a delete about to commit: the closure must not lapse once
  the performance may be gone; it ends when the keys are removed, or its closer reopens, or the
  seat reconciler settles it). An entry already without deadline stays so. A lease that lapsed
  is never taken back: sales may have been made since, so the closer must not go on as if closed
  (it answers 0, and the closer gives up its work). Lapsed entries of any closer are dropped.

  KEYS[1] meta    hash: closed (closers' entries, space-separated; absent when open)

  ARGV[1] token   the caller's token, as given to close-sales.lua
  ARGV[2] lease   ms (SALES_CLOSURE_LEASE_MS, a positive integer), or 'final'

  Returns 1 when the caller's closure stands (renewed), 0 when it lapsed or never was (nothing
  of it written).
]]
--- @keys 1
--- @include "redis-time"
--- @include "sales-closure"
local metaKey, token, lease = KEYS[1], ARGV[1], ARGV[2]
local closers = redis.call('HGET', metaKey, 'closed')
if not closers then return 0 end
local now = redisNow()
local entries = standingClosers(closers, now)
local renewed = 0
for i, entry in ipairs(entries) do
  if closerToken(entry) == token then
    renewed = 1
    if entry:find(':', 1, true) then entries[i] = lease == 'final' and token or token .. ':' .. (now + tonumber(lease)) end
  end
end
writeClosers(metaKey, entries)
return renewed
