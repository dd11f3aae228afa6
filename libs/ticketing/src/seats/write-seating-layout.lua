--[[
  Writes part of the static best-available seating layout of a performance that registerSeating
  builds (buildSeatingLayout): the seat info string, or some fields of the layout hash. Only while
  the build is still the caller's (the seating-build include): a builder whose rebuild lease lapsed,
  or whose format a newer version moved past, must not write its layout over the one being built
  or built since (placements would follow the stale one's seat qualities and rows).

  KEYS[1] seating    static layout hash (the seating include)
  KEYS[2] seat info  static seat ids, qualities and flags (the seating include)
  KEYS[3] lease      the performance's rebuild lease (the seating-build include)

  ARGV[1] the format the caller builds (SEATING_FORMAT)
  ARGV[2] the rebuild lease's token the caller builds under ('' for a build without one)
  ARGV[3] 'info': ARGV[4] is the whole seat info string, written over KEYS[2];
          'fields': ARGV[4..] are field, value pairs set in KEYS[1]

  Returns 1 when written; -1 when 'ready' is neither ARGV[1] nor 'building <ARGV[1]>'; -2 when the
  lease is no longer the caller's (nothing written either way).
]]
--- @keys 3
--- @include "seating-build"
local refusal = seatingBuildRefusal(KEYS[1], KEYS[3], ARGV[1], ARGV[2])
if refusal then return refusal end
if ARGV[3] == 'info' then
  redis.call('SET', KEYS[2], ARGV[4])
else
  redis.call('HSET', KEYS[1], unpack(ARGV, 4, #ARGV))
end
return 1
