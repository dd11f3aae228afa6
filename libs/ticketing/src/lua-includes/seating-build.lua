--[[
  Whether a build of a performance's best-available seating data (SeatStateStore.registerSeating)
  may still write: every one of its writes checks it in the same script run, so a builder that
  stopped owning the build writes nothing more. Two things end the ownership:
    - its rebuild lease ('{perf:<id>}:rebuild-lease', the token it took with SET NX PX) lapsed and
      another process may have taken it: that one's build, from a later read of PostgreSQL, is
      the one to keep (a build that takes no lease, a first registration, passes '');
    - the layout's 'ready' moved past its format: a newer version began building its own
      (seating-format.lua), whose data this one must not write over.

  seatingBuildRefusal(layoutKey, leaseKey, format, token)
      nil while the caller may write; -2 when `token` is not '' and the lease at `leaseKey` is no
      longer `token`; -1 when `layoutKey`'s 'ready' is neither `format` (complete: a repair) nor
      'building <format>'. The lease is checked first.
  seatingBuildLeaseLost(leaseKey, token)
      true when `token` is not '' and the lease at `leaseKey` is no longer `token`.
]]
local function seatingBuildLeaseLost(leaseKey, token)
  return token ~= '' and redis.call('GET', leaseKey) ~= token
end

local function seatingBuildRefusal(layoutKey, leaseKey, format, token)
  if seatingBuildLeaseLost(leaseKey, token) then return -2 end
  local ready = redis.call('HGET', layoutKey, 'ready')
  if ready ~= format and ready ~= 'building ' .. format then return -1 end
  return nil
end
