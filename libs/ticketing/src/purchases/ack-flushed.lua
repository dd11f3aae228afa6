--[[
  After a flush committed: acknowledges its stream entries and deletes them, and lets the
  purchase hashes it wrote expire (they stay readable for a while after the flush).

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
  local last = math.min(first + SLICE - 1, #ARGV)
  acknowledged = acknowledged + redis.call('XACK', stream, group, unpack(ARGV, first, last))
  redis.call('XDEL', stream, unpack(ARGV, first, last))
end
for i = 2, #KEYS do redis.call('PEXPIRE', KEYS[i], retention) end
return acknowledged
