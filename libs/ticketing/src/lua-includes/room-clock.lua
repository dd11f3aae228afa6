--[[
  A waiting room's clock: the admitted tickets' slots (the room's `active` scores) end on it, not
  on Redis TIME, so a pause does not run them out. It stands still while the performance's status
  is PAUSED and runs with Redis TIME otherwise, so every slot keeps the time it had left when the
  pause began, in O(1) whatever the number of slots: no slot is rewritten. Only PAUSED stops it:
  CLOSED and ENDED end the sale; SOLD_OUT lets buyers already in try the seats that come back (a
  slot frozen there would also keep its seat from the next buyer: admit.lua counts admitted buyers
  who have not held against the seats available); SALES_NOT_OPEN admits no one to run out.

  Kept in the room's state hash: frozenMs (how long the clock has stood still before the current
  pause), pausedAt (epoch ms, Redis TIME: when a waiting-room script first saw the current
  pause; the admission loop's next step, within WAITING_ROOM_ADMIT_PAUSE_MS while `batch` runs)
  and clockAt (epoch ms, Redis TIME: its last read by a script with a `gapMs`).

  It also stands still for a stretch nobody saw it run: more than `gapMs` (the room's pollAfterMs)
  since any script with a `gapMs` last read it (clockAt). Every script that reads it passes one
  (admission steps, polls, admission uses, leaves), so whichever reaches the room first after such a
  stretch sees the room's time the others will. While the room is live,
  admission steps (`batch`, every few ms) and buyers' polls read it far more often, so such a stretch
  is an outage: Redis down (no buyer could hold or poll), or `batch` down with no buyer polling or
  holding. An admitted buyer who could not hold loses none of their slot's time to it, and slot ends
  and admission tokens' `exp`, both on this clock, move together (faults trial 2026-12-07, F3's
  residual). The clock never goes back under anyone's eyes: the stretch is added only when nobody
  read the clock in it.

  roomClock(stateKey, status, now, gapMs): the room's time at `now` (Redis TIME, epoch ms), given the
  performance's meta `status` (nil when ON_SALE); records the read, and the start or the end of a
  pause, or an unseen stretch, when it is the first to see it. `gapMs` nil (a config without
  pollAfterMs): records no read and stops the clock for no stretch. Never goes back: a slot past
  its end stays ended.
]]
local function roomClock(stateKey, status, now, gapMs)
  local clock = redis.call('HMGET', stateKey, 'frozenMs', 'pausedAt', 'clockAt')
  local frozenMs, pausedAt, clockAt = tonumber(clock[1]) or 0, tonumber(clock[2]), tonumber(clock[3])
  if gapMs then redis.call('HSET', stateKey, 'clockAt', now) end
  if status == 'PAUSED' then
    if not pausedAt then
      pausedAt = now
      redis.call('HSET', stateKey, 'pausedAt', pausedAt)
    end
    return pausedAt - frozenMs
  end
  if pausedAt then
    -- The pause covers any unseen stretch in it.
    frozenMs = frozenMs + math.max(0, now - pausedAt)
    redis.call('HSET', stateKey, 'frozenMs', frozenMs)
    redis.call('HDEL', stateKey, 'pausedAt')
  elseif gapMs and clockAt and now - clockAt > gapMs then
    frozenMs = frozenMs + (now - clockAt)
    redis.call('HSET', stateKey, 'frozenMs', frozenMs)
  end
  return now - frozenMs
end
