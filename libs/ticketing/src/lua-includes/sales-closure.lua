--[[
  Sales closures (close-sales.lua). The meta hash's `closed` lists the performance's closers,
  space-separated, each one of
    <token>:<deadline>  a lease: the closure stands until `deadline` (epoch ms, Redis TIME); its
                        live closer renews it (renew-sales-closure.lua), so one whose process died
                        or lost Redis lapses within a lease and stops refusing sales
    <token>             no deadline: a delete's closure made final right before its commit (the
                        performance may be gone from PostgreSQL any moment: no sale may land), or
                        one written by a version before leases. Stands until its closer reopens or
                        the seat reconciler, which asks PostgreSQL, settles it (SeatReconciler).
  A token is letters, digits and '-' (close-sales.lua checks it). Touches no key.

  closureStands(closers, now): whether any closer of `closers` (the field's value) stands at `now`;
  what the hold and purchase scripts ask, only when `closed` is there (no closure: no cost).
  closerToken(entry): the token of one entry; closerStands(entry, now): whether it stands at `now`.
  standingClosers(closers, now): the entries standing at `now`, in order (lapsed leases dropped).
  writeClosers(metaKey, entries): writes them as `closed` of `metaKey`, or deletes it for none.
]]
local function closerToken(entry)
  return (entry:match('^([^:]+)'))
end

local function closerStands(entry, now)
  local deadline = entry:match(':(%d+)$')
  return not deadline or now < tonumber(deadline)
end

local function closureStands(closers, now)
  for entry in closers:gmatch('%S+') do
    if closerStands(entry, now) then return true end
  end
  return false
end

-- The entries of `closers` (nil: none) standing at `now`, in order: lapsed leases left out.
local function standingClosers(closers, now)
  local standing = {}
  for entry in (closers or ''):gmatch('%S+') do
    if closerStands(entry, now) then standing[#standing + 1] = entry end
  end
  return standing
end

-- Writes `entries` as the `closed` field of `metaKey`; none deletes it (sales open).
local function writeClosers(metaKey, entries)
  if #entries == 0 then
    redis.call('HDEL', metaKey, 'closed')
  else
    redis.call('HSET', metaKey, 'closed', table.concat(entries, ' '))
  end
end
