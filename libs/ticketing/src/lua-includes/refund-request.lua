--[[
  An operator's refund sent with an Idempotency-Key (refund-seats.lua, and cancel-purchase.lua for
  an operator): the key's record `{perf:<id>}:refund-request:<operator id>:<key digest>`, a hash,
  comes in KEYS right after the script's fixed keys (nothing more without a key); what the request
  asked for (`request`: the same words each time it is asked, PurchaseStore's refundRequestWords)
  and the record's retention (ms) come in ARGV. The record is written by the same script run that
  refunds, so no crash can leave a refund made without its answer kept, nor an answer kept without
  its refund: a retry with the key answers what the refund answered, even when the api that made
  it died before sending the answer.

  refundAnsweredBefore(recordKey, request): the key's first answer, read before anything else is
    checked: nil when there is no key (`recordKey` nil) or the key has no record (refund as asked),
    {'KEY_REUSED'} when its record is of another request, else {'REPLAY', refund id (the partial
    refund's id the first run was given, '' for a whole refund), seat ids (comma-separated, as the
    first run named them; '' for a whole refund), the first answer's fields ...}: the refund as the
    script answered it then (REFUNDED or CANCELED and their fields), whatever became of the purchase
    since; nothing is refunded again.

  keepRefundAnswer(recordKey, request, refundId, seatIds, answer, retention): records `answer` (the
    script's reply, a list of strings and integers), with the refund's id and the seats named (as
    refundAnsweredBefore answers them), as the key's when there is a key; the record expires
    `retention` ms from now. Returns `answer`.
]]
local function refundAnsweredBefore(recordKey, request)
  if not recordKey then return nil end
  local stored = redis.call('HMGET', recordKey, 'request', 'refundId', 'seats', 'answer')
  if not stored[1] then return nil end
  if stored[1] ~= request then return {'KEY_REUSED'} end
  local replay = {'REPLAY', stored[2], stored[3]}
  for _, field in ipairs(cjson.decode(stored[4])) do replay[#replay + 1] = field end
  return replay
end

local function keepRefundAnswer(recordKey, request, refundId, seatIds, answer, retention)
  if not recordKey then return answer end
  -- As strings: cjson would write an epoch-ms time in exponent notation; Lua's tostring keeps 14 digits.
  local fields = {}
  for i, field in ipairs(answer) do fields[i] = tostring(field) end
  redis.call('HSET', recordKey, 'request', request, 'refundId', refundId, 'seats', seatIds, 'answer',
    cjson.encode(fields))
  redis.call('PEXPIRE', recordKey, retention)
  return answer
end
