--[[
  Finds, among purchases about to be written to PostgreSQL, those canceled meanwhile, so they go
  in as CANCELED (their cancellation entry may be written by another flusher before them).
  Read-only.

  KEYS[1..n] purchase hashes, all of one performance

  ARGV none

  Returns {position, canceledAt (epoch ms), canceledBy, keptSeatIds, canceledAmount, canceledById,
  position, ...}: for each canceled purchase, its 1-based position in KEYS, when it was canceled and
  by whom ('buyer', 'operator', 'performance'; '' when its cancel recorded none, an older version's),
  the checked-in seat ids its cancel kept sold (comma-separated; '' for none, or an older version's
  cancel), what the cancel gave back (minor units; '' when an older version's cancel recorded none)
  and the operator's account id of an operator's cancel ('' for none, or an older version's);
  {} when none was.
]]
--- @keys variable
local canceled = {}
for position, key in ipairs(KEYS) do
  -- The status alone first: a paid purchase's hash has none of the cancel's fields, and an HMGET of
  -- them walked the whole hash once for each, 3-4 times the cost of this look (docs/performance.md).
  if redis.call('HGET', key, 'status') == 'CANCELED' then
    local state = redis.call('HMGET', key, 'canceledAt', 'canceledBy', 'keptSeatIds', 'canceledAmount', 'canceledById')
    if state[1] then
      canceled[#canceled + 1] = position
      canceled[#canceled + 1] = state[1]
      for field = 2, 5 do
        canceled[#canceled + 1] = state[field] or ''
      end
    end
  end
end
return canceled
