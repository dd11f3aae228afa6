--[[
  Ends the caller's part in a performance's closure to sales (close-sales.lua): drops its entry
  from `closed`, leased or final (the sales-closure include), and opens sales (deletes `closed`)
  only when no other closer's entry stands. Lapsed leases of any closer are dropped too. A token
  not in `closed` (never closed by this caller, reopened already, or lapsed) changes nothing of
  the others, so a closer reopening late never opens a closure another caller made since. An empty
  token drops lapsed leases only (what the seat reconciler asks).

  KEYS[1] meta    hash: closed (closers' entries, space-separated; absent when open)

  ARGV[1] token   the caller's token, as given to close-sales.lua; '' for none

  Returns 1 when the token's closure stood (dropped; sales open if it was the last), else 0.
]]
--- @keys 1
--- @include "redis-time"
--- @include "sales-closure"
local metaKey, token = KEYS[1], ARGV[1]
local closers = redis.call('HGET', metaKey, 'closed')
if not closers then return 0 end
local rest, found = {}, 0
for _, entry in ipairs(standingClosers(closers, redisNow())) do
  if closerToken(entry) == token then found = 1 else rest[#rest + 1] = entry end
end
writeClosers(metaKey, rest)
return found
