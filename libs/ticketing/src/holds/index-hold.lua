--[[
  Notes a performance in the user's index of performances with holds, before the hold itself is
  made (see HoldStore.hold): one command instead of a ZADD and a PEXPIREAT, each its own command
  for the client to build, send and match.

  KEYS[1] the user's index of performances with holds (sorted set: performance id by epoch ms)

  ARGV[1] epoch ms until which the entry counts (the hold's expiry plus the clock slack)
  ARGV[2] performance id

  The score only grows (every hold has the same lifetime, so a later one is the larger); the key
  expires with the latest entry. Returns 1.
]]
--- @keys 1
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
