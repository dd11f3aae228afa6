--[[
  Parks a purchase entry PostgreSQL refused for good: copies it to the performance's dead-letter
  stream with the refusal, acknowledges and deletes it from the purchase stream, marks its purchase
  hash parkedAt, and, when the purchase was still paid, takes its seats out of its buyer's count of
  seats bought (the ticket limit's): a parked purchase has no ticket and its charge is refunded, as
  a rebuild from PostgreSQL would count it. Once only: an entry no longer in the stream changes
  nothing.

  KEYS[1] stream        the performance's purchase stream
  KEYS[2] dead letters  the performance's dead-letter stream
  KEYS[3] purchase      hash of the purchase (status PAID or CANCELED; a canceled one was taken out
                        of the count by its cancel)
  KEYS[4] tickets       hash user id -> seats of the user's paid purchases not canceled
          bought

  ARGV[1] consumer group
  ARGV[2] entry id
  ARGV[3] the refusal (SQLSTATE, constraint, message)
  ARGV[4] parkedAt (epoch ms)
  ARGV[5] user id of the purchase
  ARGV[6] seats of the purchase
  ARGV[7..] the entry's fields (name, value, ...)

  Returns 1 when it parked the entry, 0 when the entry was gone already.
]]
--- @keys 4
local stream, deadLetters, purchaseKey, ticketsBought = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local group, entryId, reason, parkedAt, userId, seats = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])

redis.call('XACK', stream, group, entryId)
if redis.call('XDEL', stream, entryId) == 0 then return 0 end
local copy = {}
for i = 7, #ARGV do copy[#copy + 1] = ARGV[i] end
for _, part in ipairs({ 'entryId', entryId, 'error', reason, 'parkedAt', parkedAt }) do copy[#copy + 1] = part end
redis.call('XADD', deadLetters, '*', unpack(copy))
local status, parked, boxOffice, deliveryEmail =
  unpack(redis.call('HMGET', purchaseKey, 'status', 'parkedAt', 'boxOffice', 'deliveryEmail'))
-- A box office sale's or a guest comp's seats were never in the owning account's count (purchase.lua).
if status == 'PAID' and not parked and not boxOffice and not deliveryEmail then
  if redis.call('HINCRBY', ticketsBought, userId, -seats) <= 0 then redis.call('HDEL', ticketsBought, userId) end
end
redis.call('HSET', purchaseKey, 'parkedAt', parkedAt)
return 1
