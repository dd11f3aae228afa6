--[[
  Last step of a performance's registration: writes its meta hash (currency last among its
  fields, which makes the performance registered) and its counts' total. A rebuild of a
  performance Redis lost writes it only while it still holds the performance's rebuild lease, and
  ends the lease with it: a rebuild whose lease lapsed, or was removed with the performance (a
  delete), must not write the lifecycle it read from PostgreSQL over a newer one, nor register a
  deleted performance again.

  KEYS[1] meta     hash of the performance (see PerformanceKeys.meta)
  KEYS[2] counts   hash total, available, held, sold
  KEYS[3] lease    string: the token of the process rebuilding the performance

  ARGV[1] lease token ('' for a first registration, which takes no lease)
  ARGV[2] salesOpenAt (epoch ms)
  ARGV[3] currency (ISO 4217)
  ARGV[4] n: how many field, value pairs follow
  ARGV[5 .. 4 + 2n] lifecycle field, value pairs to set
  ARGV[5 + 2n ..]   lifecycle fields to delete

  Returns 1 when written, 0 when the lease is not the caller's (nothing written).
]]
--- @keys 3
local token = ARGV[1]
if token ~= '' then
  if redis.call('GET', KEYS[3]) ~= token then return 0 end
  redis.call('DEL', KEYS[3])
end
local pairCount = tonumber(ARGV[4])
if pairCount > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 5, 4 + 2 * pairCount)) end
if #ARGV >= 5 + 2 * pairCount then redis.call('HDEL', KEYS[1], unpack(ARGV, 5 + 2 * pairCount, #ARGV)) end
redis.call('HSET', KEYS[1], 'salesOpenAt', ARGV[2], 'currency', ARGV[3])
redis.call('HSETNX', KEYS[2], 'total', 0)
return 1
