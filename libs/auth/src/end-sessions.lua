-- Records that every session of an account ended, and tells every api at once.
-- KEYS[1]  sorted set of recent endings: member the account id, score when its sessions ended
--          (epoch microseconds, PostgreSQL's clock); the latest per account is kept
-- ARGV[1]  account id
-- ARGV[2]  when its sessions ended, epoch microseconds
-- ARGV[3]  endings before this (epoch microseconds) are dropped: their tokens have expired
-- ARGV[4]  the set's lifetime, ms (an idle set goes away)
-- ARGV[5]  pub/sub channel every api listens on
-- Publishes "<account id> <ended at>" (the latest known) on ARGV[5].
-- Returns  the latest ending known for the account, epoch microseconds (string)
--- @keys 1
local known = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
local at = ARGV[2]
if known and known >= tonumber(at) then
  at = string.format('%d', known)
else
  redis.call('ZADD', KEYS[1], at, ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[1] .. ' ' .. at)
return at
