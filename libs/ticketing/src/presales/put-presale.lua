--[[
  Writes one presale into a performance's meta hash, where the hold scripts check access codes and
  allocations, only when the performance is registered (its meta hash has a currency): a field
  written into an unregistered performance's hash would make the hash exist without the rest of it
  (close-sales.lua reads existence as "registered"), and its registration or rebuild writes every
  presale anyway. The seats taken under it (presale-taken:<id>) start at 0 and are never written
  here again: a change of its allocation keeps the count; only a presale put back after a delete
  whose commit failed (ARGV[4]) gets the count it had, in the same step as its code, so no hold
  counts against a 0 in between.

  KEYS[1] meta   hash: currency (present once registered), presale:<id>, presale-max:<id> and
                 presale-taken:<id> fields (the hold-taking and presale-allocation includes)

  ARGV[1] the presale's id (decimal digits)
  ARGV[2] its window, code digest and name (presale-fields.ts)
  ARGV[3] its maxSeats (a positive integer), or '' for no allocation
  ARGV[4] optional: the seats taken to put back (a non-negative integer), for a presale restored

  Returns 1 when written, 0 when the performance is not registered (nothing written).
]]
--- @keys 1
if redis.call('HEXISTS', KEYS[1], 'currency') == 0 then return 0 end
local id = ARGV[1]
redis.call('HSET', KEYS[1], 'presale:' .. id, ARGV[2])
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], 'presale-max:' .. id)
else
  redis.call('HSET', KEYS[1], 'presale-max:' .. id, ARGV[3])
end
if ARGV[4] then
  redis.call('HSET', KEYS[1], 'presale-taken:' .. id, ARGV[4])
else
  redis.call('HSETNX', KEYS[1], 'presale-taken:' .. id, 0)
end
return 1
