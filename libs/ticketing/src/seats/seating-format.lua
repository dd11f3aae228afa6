--[[
  Moves a performance's seating data's format (the layout hash's 'ready') forward, never back, so
  that during a rolling deploy that changes SEATING_FORMAT a replica of the older version never
  builds its format over the newer one's (and the two never build each other's data back and
  forth). 'ready' is '<format>' once the data of that format is complete, 'building <format>'
  while registerSeating writes it: either way any search of another format answers NO_LAYOUT.
  A build under a rebuild lease steps only while the lease is its own (the seating-build include).

  KEYS[1] seating  static layout hash (the seating include)
  KEYS[2] lease    the performance's rebuild lease (the seating-build include)

  ARGV[1] the caller's format (SEATING_FORMAT)
  ARGV[2] 'begin': before the caller writes the data. Refused when 'ready' names a newer format
          (complete or being built); kept when it is the caller's format complete (a repair,
          searches go on); else set to 'building <format>'.
          'finish': after the caller wrote it. Sets 'ready' to '<format>' when it is the caller's
          format, complete or being built; refused otherwise (a newer version began meanwhile).
  ARGV[3] the rebuild lease's token the caller builds under ('' for a build without one: a first
          registration)

  Returns 1; -1 when refused for the format; -2 when the lease is no longer the caller's (either
  way nothing written).
]]
--- @keys 2
--- @include "seating-build"
local format, step, token = ARGV[1], ARGV[2], ARGV[3]
if step == 'finish' then
  local refusal = seatingBuildRefusal(KEYS[1], KEYS[2], format, token)
  if refusal then return refusal end
  redis.call('HSET', KEYS[1], 'ready', format)
  return 1
end
if seatingBuildLeaseLost(KEYS[2], token) then return -2 end
local ready = redis.call('HGET', KEYS[1], 'ready')
if ready == format then return 1 end
local building = 'building ' .. format
local stored = tonumber(ready or '') or tonumber(string.match(ready or '', '^building (%d+)$') or '')
if stored and stored > tonumber(format) then return -1 end
redis.call('HSET', KEYS[1], 'ready', building)
return 1
