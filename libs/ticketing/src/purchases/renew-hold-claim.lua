--[[
  Gives a purchase attempt's claim on its hold (see claim-hold.lua) a full lease again, but only
  while the claim is still that attempt's and the hold is still HELD: the attempt is charging,
  and a charge slower than one lease must not let a second attempt claim the hold and charge too.
  A dropped claim, another attempt's, or a hold bought, released or expired by status stays as it is.

  KEYS[1] hold  hash of the hold

  ARGV[1] purchase id of the attempt
  ARGV[2] lease (ms), counted from now (Redis time)

  Returns 1 when the claim was renewed, else 0.
]]
--- @keys 1
--- @include "redis-time"
local fields = redis.call('HMGET', KEYS[1], 'claimedBy', 'status')
if fields[1] ~= ARGV[1] or fields[2] ~= 'HELD' then return 0 end
redis.call('HSET', KEYS[1], 'claimedUntil', redisNow() + tonumber(ARGV[2]))
return 1
