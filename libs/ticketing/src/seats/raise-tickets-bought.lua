--[[
  Raises buyers' counts of seats bought (the ticket limit per buyer of the hold scripts) to at
  least the counts PostgreSQL gives: when a performance's state is rebuilt (the hash is gone
  with it), and when an operator sets the limit (counts kept only since an upgrade lack older
  purchases). A count already higher stays: it includes purchases not written to PostgreSQL yet,
  which purchase.lua counted. Counts are only raised, never lowered, so running it twice, or
  beside purchases and cancellations, never counts a seat the buyer does not have beyond what
  PostgreSQL says.

  KEYS[1] tickets bought  hash user id -> seats of the user's paid purchases not canceled

  ARGV    pairs: user id, seats (a positive integer)

  Returns the number of counts raised.
]]
--- @keys 1
local raised = 0
for i = 1, #ARGV, 2 do
  local given = tonumber(ARGV[i + 1])
  if given > (tonumber(redis.call('HGET', KEYS[1], ARGV[i])) or 0) then
    redis.call('HSET', KEYS[1], ARGV[i], given)
    raised = raised + 1
  end
end
return raised
