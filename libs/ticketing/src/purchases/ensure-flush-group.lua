--[[
  Creates the flushers' consumer group on a purchase stream (and the stream, if missing),
  reading from its beginning. Creating it again is harmless. A script because ioredis does not
  put the key prefix on XGROUP's key; script KEYS it does prefix.

  KEYS[1] stream  the performance's purchase stream

  ARGV[1] group name

  Returns 1 when the group was created, 0 when it existed.
]]
--- @keys 1
local created = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if type(created) == 'table' and created.err then
  if string.find(created.err, 'BUSYGROUP', 1, true) then return 0 end
  return redis.error_reply(created.err)
end
return 1
