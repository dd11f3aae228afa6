--[[
  Raises buyers' counts of seats bought (the ticket limit per buyer of the hold scripts) to at
  least the counts PostgreSQL gives. Used where Redis's counts are incomplete: when a
  performance's state is rebuilt (the hash was lost with it), and once for a performance
  registered by a version that kept no counts, when an operator first sets its limit (then
  ARGV[1] is '1' on the last call: the meta hash is marked `ticketsCounted`, so it is never
  raised from PostgreSQL again; from then on only the scripts keep the counts). A count already
  higher stays: it includes purchases not written to PostgreSQL yet.

  KEYS[1] tickets bought  hash user id -> seats of the user's paid purchases not canceled
  KEYS[2] meta            hash of the performance (`ticketsCounted`: 1 once its counts are complete)

  ARGV[1]    '1': mark the meta hash `ticketsCounted` after raising; '0': do not
  ARGV[2..]  pairs: user id, seats (a positive integer)

  Returns the number of counts raised.
]]
--- @keys 2
local raised = 0
for i = 2, #ARGV, 2 do
  local given = tonumber(ARGV[i + 1])
  if given > (tonumber(redis.call('HGET', KEYS[1], ARGV[i])) or 0) then
    redis.call('HSET', KEYS[1], ARGV[i], given)
    raised = raised + 1
  end
end
if ARGV[1] == '1' then redis.call('HSET', KEYS[2], 'ticketsCounted', 1) end
return raised
