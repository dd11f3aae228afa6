--[[
  Ends the caller's part in a performance's closure to sales (close-sales.lua): drops its token
  from `closed`, and opens sales (deletes `closed`) only when no other closer's token is left. A
  token not in `closed` (never closed by this caller, or reopened already) changes nothing, so a
  closer reopening late never opens a closure another caller made since.

  KEYS[1] meta    hash: closed (closers' tokens, space-separated; absent when open)

  ARGV[1] token   the caller's token, as given to close-sales.lua

  Returns 1 when the token was among the closers (dropped; sales open if it was the last), else 0.
]]
--- @keys 1
local metaKey, token = KEYS[1], ARGV[1]
local closers = redis.call('HGET', metaKey, 'closed')
if not closers then return 0 end
local rest, found = {}, false
for closer in closers:gmatch('%S+') do
  if closer == token then found = true else rest[#rest + 1] = closer end
end
if not found then return 0 end
if #rest == 0 then
  redis.call('HDEL', metaKey, 'closed')
else
  redis.call('HSET', metaKey, 'closed', table.concat(rest, ' '))
end
return 1
