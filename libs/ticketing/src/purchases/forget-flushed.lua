--[[
  After a flush committed, on a single Redis only (its keys lie in as many Cluster slots as there
  are buyers; a Cluster gets one ZREM per purchase instead): takes the written purchases out of
  their buyers' lists of purchases, in one command rather than one per purchase.

  KEYS[1..n] the buyers' lists of purchases (sorted sets), one per written purchase
  ARGV[1..n] the member to remove from each (`<performanceId>:<purchaseId>`), in the order of KEYS

  Returns the number of members removed.
]]
--- @keys variable
local removed = 0
for i = 1, #KEYS do removed = removed + redis.call('ZREM', KEYS[i], ARGV[i]) end
return removed
