--[[
  Readiness probe: proves that Redis runs this client's scripts (EVALSHA, or EVAL after a
  restart or failover emptied the script cache) on the primary of the probe key's slot.
  Reads only: it changes nothing.

  KEYS[1] probe key (never written)

  Returns 0
]]
--- @keys 1
return redis.call('EXISTS', KEYS[1])
