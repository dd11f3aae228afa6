--[[
  Renews or ends a performance's rebuild lease, only while it is the caller's (the token it was
  taken with by SET NX PX): a lease that lapsed and was taken by another process stays theirs.

  KEYS[1] lease   string: the token of the process rebuilding the performance

  ARGV[1] token
  ARGV[2] 'renew' or 'release'
  ARGV[3] lease (ms) from now, for 'renew'

  Returns 1 when the lease was the caller's (renewed or ended), else 0.
]]
--- @keys 1
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'renew' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1
