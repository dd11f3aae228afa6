--[[
  Creates the flushers' consumer group on a purchase stream (and the stream, if missing),
  reading from its beginning. Creating it again is harmless. A script because ioredis does not
  put the key prefix on XGROUP's key; script KEYS it does prefix. Nothing is created once the
  performance's meta hash is gone: a flusher that read the registry before a delete would
  otherwise leave an empty stream of a deleted performance behind (MKSTREAM) for good.

  KEYS[1] stream  the performance's purchase stream
  KEYS[2] meta    the performance's meta hash (absent once the performance is removed)

  ARGV[1] group name

  Returns 1 when the group was created, 0 when it existed, -1 when the performance is gone
  (nothing created).
]]
--- @keys 2
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local created = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if type(created) == 'table' and created.err then
  if string.find(created.err, 'BUSYGROUP', 1, true) then return 0 end
  return redis.error_reply(created.err)
end
return 1
