--[[
  Writes one presale into a performance's meta hash, where the hold scripts check access codes,
  only when the performance is registered (its meta hash has a currency): a field written into an
  unregistered performance's hash would make the hash exist without the rest of it (close-sales.lua
  reads existence as "registered"), and its registration or rebuild writes every presale anyway.

  KEYS[1] meta   hash: currency (present once registered), presale:<id> fields

  ARGV[1] field  'presale:<id>'
  ARGV[2] value  the presale's window, code digest and name (presale-fields.ts)

  Returns 1 when written, 0 when the performance is not registered (nothing written).
]]
--- @keys 1
if redis.call('HEXISTS', KEYS[1], 'currency') == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
