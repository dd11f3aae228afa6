--[[
  After a flush committed: acknowledges its stream entries and deletes them, and lets the
  purchase hashes it wrote expire (they stay readable for a while after the flush).

  The entries below every group's oldest unacknowledged one (all acknowledged, so deleted) go by
  one XTRIM MINID, which drops whole stream nodes; XDEL, which finds and marks each entry, cost
  about twice the script's time a thousand entries. XDEL is left for the entries above that point
  (another flusher's batch still pending before them). Either way every entry acknowledged here is
  gone when the script returns, as with XDEL alone: XLEN still counts the unwritten entries.

  KEYS[1]    stream  the performance's purchase stream
  KEYS[2..n] purchase hashes written by the flush (of purchases and of cancellations)

  ARGV[1]    group name
  ARGV[2]    how long the purchase hashes stay (ms)
  ARGV[3..]  ids of the flushed stream entries

  Returns the number of entries acknowledged.
]]
--- @keys variable
local stream, group, retention = KEYS[1], ARGV[1], ARGV[2]
-- In slices: unpack() of a very long list overflows Lua's stack.
local SLICE = 1000
local acknowledged = 0
for first = 3, #ARGV, SLICE do
  acknowledged = acknowledged + redis.call('XACK', stream, group, unpack(ARGV, first, math.min(first + SLICE - 1, #ARGV)))
end

-- A stream id as {ms, seq}, and whether a comes before b.
local function parsed(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return { tonumber(ms), tonumber(seq) }
end
local function before(a, b)
  return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
end

-- The oldest entry some group still needs: its oldest pending one, or the one after its last
-- delivered. Nil when the stream or its groups are gone: then XDEL deletes each entry, as ever.
local keep = nil
if redis.call('EXISTS', stream) == 1 then
  for _, info in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local fields = {}
    for i = 1, #info, 2 do fields[info[i]] = info[i + 1] end
    local needed
    if fields['pending'] > 0 then
      needed = parsed(redis.call('XPENDING', stream, fields['name'])[2])
    else
      needed = parsed(fields['last-delivered-id'])
      needed[2] = needed[2] + 1
    end
    if not keep or before(needed, keep) then keep = needed end
  end
end

local rest = {}
if keep then
  redis.call('XTRIM', stream, 'MINID', keep[1] .. '-' .. keep[2])
  for i = 3, #ARGV do
    if not before(parsed(ARGV[i]), keep) then rest[#rest + 1] = ARGV[i] end
  end
else
  for i = 3, #ARGV do rest[#rest + 1] = ARGV[i] end
end
for first = 1, #rest, SLICE do
  redis.call('XDEL', stream, unpack(rest, first, math.min(first + SLICE - 1, #rest)))
end
for i = 2, #KEYS do redis.call('PEXPIRE', KEYS[i], retention) end
return acknowledged
