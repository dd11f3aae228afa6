--[[
  Drops a purchase attempt's claim on its hold (see claim-hold.lua), but only while it is still
  that attempt's: its payment was declined or it stopped before charging, so the buyer may try
  again at once. Another attempt's claim stays.

  KEYS[1] hold  hash of the hold

  ARGV[1] purchase id of the attempt

  Returns 1 when the claim was dropped, else 0.
]]
--- @keys 1
if redis.call('HGET', KEYS[1], 'claimedBy') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'claimedBy', 'claimedUntil')
  return 1
end
return 0
