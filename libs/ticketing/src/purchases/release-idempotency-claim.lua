--[[
  Drops an Idempotency-Key claim, but only while it is still the caller's claim: a stored
  answer, or another request's claim taken after this one's lease ran out, stays.

  KEYS[1] idempotency record  `pending:<token>` while claimed, the answer (JSON) once done

  ARGV[1] the caller's claim, `pending:<token>`

  Returns 1 when the claim was dropped, else 0.
]]
--- @keys 1
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
