--[[
  Why a performance's waiting room admits no one now (admit.lua), as its waiting tickets tell it
  (queue-ticket.lua): an admission into a sale that refuses every hold would only run the buyer's
  slot out (EXPIRED) and cost them their place. Reads only the two keys it is given, which every
  caller lists in its KEYS.

  admissionHalt(metaKey, countsKey, now): one of
    'PAUSED'    the performance's status is PAUSED (holds answer 409 SalesClosed)
    'CLOSED'    its status is CLOSED
    'ENDED'     now (epoch ms, Redis TIME) is at or past its salesCloseAt
    'SOLD_OUT'  no seat is available now (counts `available` 0): seats may come back, from holds
                that expire or are released and purchases canceled, and admission goes on then
  or false when admission runs. A performance whose seat state Redis has not (yet) written reads
  false: the hold scripts rebuild it first.
]]
local function admissionHalt(metaKey, countsKey, now)
  local meta = redis.call('HMGET', metaKey, 'status', 'salesCloseAt')
  if meta[1] == 'PAUSED' or meta[1] == 'CLOSED' then return meta[1] end
  if meta[2] and tonumber(meta[2]) and now >= tonumber(meta[2]) then return 'ENDED' end
  local available = tonumber(redis.call('HGET', countsKey, 'available') or '')
  if available and available <= 0 then return 'SOLD_OUT' end
  return false
end
