--[[
  redisNow(): Redis server time in epoch ms, the only clock of the ticketing scripts (every
  process and replica agrees on it). Touches no key.
]]
local function redisNow()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
