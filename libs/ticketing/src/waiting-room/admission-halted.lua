--[[
  Why a performance's waiting room admits no one now, for the room's view (GET …/queue): the same
  rule admit.lua applies and the waiting tickets tell (admission-halt.lua), so the three never
  disagree. Reads only.

  KEYS[1] meta    the performance's meta hash (../redis-keys.ts)
  KEYS[2] counts  the performance's counts hash

  Returns PAUSED, CLOSED, ENDED, SALES_NOT_OPEN or SOLD_OUT, or '' while admission runs.
]]
--- @keys 2
--- @include "redis-time"
--- @include "admission-halt"
return admissionHalt(KEYS[1], KEYS[2], redisNow()) or ''
