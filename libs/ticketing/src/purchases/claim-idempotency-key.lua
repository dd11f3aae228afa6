--[[
  Claims an Idempotency-Key for one request unless the key is claimed or answered already.

  KEYS[1] idempotency record  `pending:<token>` while claimed, the answer (JSON) once done

  ARGV[1] the caller's claim, `pending:<token>`
  ARGV[2] lease (ms): the claim lapses this long after it was taken or last renewed

  Returns one of
    {'CLAIMED'}
    {'TAKEN', record}  the record as it is: another request's claim, or the stored answer
]]
--- @keys 1
local current = redis.call('GET', KEYS[1])
if current then return {'TAKEN', current} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'CLAIMED'}
