--[[
  A waiting room's clock: the admitted tickets' slots (the room's `active` scores) end on it, not
  on Redis TIME, so a pause does not run them out. It stands still while the performance's status
  is PAUSED and runs with Redis TIME otherwise, so every slot keeps the time it had left when the
  pause began, in O(1) whatever the number of slots: no slot is rewritten. Only PAUSED stops it:
  CLOSED and ENDED end the sale; SOLD_OUT lets buyers already in try the seats that come back (a
  slot frozen there would also keep its seat from the next buyer: admit.lua counts admitted buyers
  who have not held against the seats available); SALES_NOT_OPEN admits no one to run out.

  Kept in the room's state hash: frozenMs (how long the clock has stood still before the current
  pause) and pausedAt (epoch ms, Redis TIME: when a waiting-room script first saw the current
  pause; the admission loop's next step, within WAITING_ROOM_ADMIT_PAUSE_MS while `batch` runs).

  roomClock(stateKey, status, now): the room's time at `now` (Redis TIME, epoch ms), given the
  performance's meta `status` (nil when ON_SALE); records the start or the end of a pause when it
  is the first to see it. Never goes back: a slot past its end stays ended.
]]
local function roomClock(stateKey, status, now)
  local clock = redis.call('HMGET', stateKey, 'frozenMs', 'pausedAt')
  local frozenMs, pausedAt = tonumber(clock[1]) or 0, tonumber(clock[2])
  if status == 'PAUSED' then
    if not pausedAt then
      pausedAt = now
      redis.call('HSET', stateKey, 'pausedAt', pausedAt)
    end
    return pausedAt - frozenMs
  end
  if pausedAt then
    frozenMs = frozenMs + math.max(0, now - pausedAt)
    redis.call('HSET', stateKey, 'frozenMs', frozenMs)
    redis.call('HDEL', stateKey, 'pausedAt')
  end
  return now - frozenMs
end
