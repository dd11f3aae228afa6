--[[
  Extends an Idempotency-Key claim by one lease, but only while it is still the caller's claim:
  a stored answer, or another request's claim taken after this one lapsed, stays as it is.

  KEYS[1] idempotency record  `pending:<token>` while claimed, the answer (JSON) once done

  ARGV[1] the caller's claim, `pending:<token>`
  ARGV[2] lease (ms), counted from now

  Returns 1 when the claim was renewed, else 0.
]]
--- @keys 1
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
