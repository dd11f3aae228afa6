--[[
  Where a performance's purchase stream stands: its last-generated-id and entries-added (every
  append ever, Redis 7), read together, so the seat reconciler can later tell which purchases
  were appended since (reconcile-seats.lua). A script rather than a plain XINFO, whose key the
  client would neither prefix nor route to the key's Cluster slot. Read-only.

  KEYS[1] stream  the performance's purchase stream

  Returns {last-generated-id, entries-added}; {'0-0', 0} when the stream does not exist.
]]
--- @keys 1
local streamKey = KEYS[1]
if redis.call('EXISTS', streamKey) == 0 then return {'0-0', 0} end
local info = redis.call('XINFO', 'STREAM', streamKey)
local lastId, added = nil, nil
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then lastId = info[i + 1] end
  if info[i] == 'entries-added' then added = info[i + 1] end
end
if not added then return redis.error_reply('ERR stream-mark: XINFO STREAM has no entries-added (Redis 7 or later)') end
return {lastId, added}
