--[[
  Moves a performance's seating data's format (the layout hash's 'ready') forward, never back, so
  that during a rolling deploy that changes SEATING_FORMAT a replica of the older version never
  builds its format over the newer one's (and the two never build each other's data back and
  forth). 'ready' is '<format>' once the data of that format is complete, 'building <format>'
  while registerSeating writes it: either way any search of another format answers NO_LAYOUT.

  KEYS[1] seating  static layout hash (the seating include)

  ARGV[1] the caller's format (SEATING_FORMAT)
  ARGV[2] 'begin': before the caller writes the data. Refused when 'ready' names a newer format
          (complete or being built); kept when it is the caller's format complete (a repair,
          searches go on); else set to 'building <format>'.
          'finish': after the caller wrote it. Sets 'ready' to '<format>' when it is the caller's
          format, complete or being built; refused otherwise (a newer version began meanwhile).

  Returns 1, or 0 when refused (nothing written).
]]
--- @keys 1
local format, step = ARGV[1], ARGV[2]
local ready = redis.call('HGET', KEYS[1], 'ready')
local building = 'building ' .. format
if step == 'finish' then
  if ready ~= format and ready ~= building then return 0 end
  redis.call('HSET', KEYS[1], 'ready', format)
  return 1
end
if ready == format then return 1 end
local stored = tonumber(ready or '') or tonumber(string.match(ready or '', '^building (%d+)$') or '')
if stored and stored > tonumber(format) then return 0 end
redis.call('HSET', KEYS[1], 'ready', building)
return 1
