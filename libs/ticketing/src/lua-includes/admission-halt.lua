--[[
  Why a performance's waiting room admits no one now (admit.lua), as its waiting tickets tell it
  (queue-ticket.lua) and the room's operator reads it (admission-halted.lua): an admission into a
  sale that refuses every hold would only run the buyer's slot out (EXPIRED) and cost them their
  place. The rule follows the hold scripts' refusals (hold-seats.lua, hold-best-available.lua),
  which refuse every hold exactly on the first five. Reads only the two keys it is given, which
  every caller lists in its KEYS.

  admissionHalt(metaKey, countsKey, now): one of
    'PAUSED'          the performance's status is PAUSED (holds answer 409 SalesClosed)
    'CLOSED'          its status is CLOSED, or a sales closure stands (the meta's `closed`: a delete
                      or a time zone change under way, the sales-closure include)
    'ENDED'           now (epoch ms, Redis TIME) is at or past its salesCloseAt
    'SALES_NOT_OPEN'  now is before its salesOpenAt and no presale is open now (holds answer 403
                      SalesNotOpen); during a presale admission runs, for its code holders
    'SOLD_OUT'        no seat is available now (counts `available` 0): seats may come back, from
                      holds that expire or are released and purchases canceled, and admission goes
                      on then
  or false when admission runs. A CANCELED status is not a halt: the callers end the room's tickets
  instead. A performance whose seat state Redis has not (yet) written reads false (the hold scripts
  rebuild it first), and so does a missing or empty `available`.
]]
--- @include "sales-closure"
local function admissionHalt(metaKey, countsKey, now)
  local meta = redis.call('HMGET', metaKey, 'status', 'closed', 'salesCloseAt', 'salesOpenAt')
  if meta[1] == 'PAUSED' or meta[1] == 'CLOSED' then return meta[1] end
  if meta[2] and closureStands(meta[2], now) then return 'CLOSED' end
  if meta[3] and tonumber(meta[3]) and now >= tonumber(meta[3]) then return 'ENDED' end
  if meta[4] and tonumber(meta[4]) and now < tonumber(meta[4]) then
    -- A presale open now lets its code holders buy (hold-taking's presaleRefusal reads the same
    -- fields: `presale:<id>` = '<opensAt>:<closesAt>:<code digest>:<name>').
    local fields = redis.call('HGETALL', metaKey)
    local presaleOpen = false
    for i = 1, #fields, 2 do
      if string.match(fields[i], '^presale:%d+$') then
        local opensAt, closesAt = string.match(fields[i + 1], '^(%d+):(%d+):')
        if opensAt and tonumber(opensAt) <= now and now < tonumber(closesAt) then presaleOpen = true end
      end
    end
    if not presaleOpen then return 'SALES_NOT_OPEN' end
  end
  local available = tonumber(redis.call('HGET', countsKey, 'available') or '')
  if available and available <= 0 then return 'SOLD_OUT' end
  return false
end
