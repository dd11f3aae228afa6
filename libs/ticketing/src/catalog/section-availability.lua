--[[
  Available seats of each section of one performance, counted from the live seat letters and
  kept for a short while: during an on-sale many buyers read the sections at once, and they then
  cost one pass over the performance's seats per interval instead of one each. A seat counts as
  available while its letter is A (a seat of an expired hold the sweeper has not freed yet still
  counts as held, as in the counts hash, for at most the sweep interval).

  KEYS[1] meta    hash of the performance; `currency` present = registered
  KEYS[2] seats   hash seat id -> status letter (A available, H held, S sold)
  KEYS[3] cache   string: the comma-separated counts last computed, expiring after ARGV[1] ms

  ARGV[1] how long a computed answer is kept (ms, > 0)
  ARGV[2..] pairs: first and last seat id of each section, ascending and disjoint (a seat of the
            performance lies in exactly one)

  Returns one of
    {'OK', counts}        counts: comma-separated available seats per section, in ARGV order
    {'NO_PERFORMANCE'}    not registered
]]
--- @keys 3
local metaKey, seatsKey, cacheKey = KEYS[1], KEYS[2], KEYS[3]
if not redis.call('HGET', metaKey, 'currency') then return {'NO_PERFORMANCE'} end
local cached = redis.call('GET', cacheKey)
if cached then return {'OK', cached} end

local firsts, lasts, counts = {}, {}, {}
for i = 2, #ARGV, 2 do
  firsts[#firsts + 1] = tonumber(ARGV[i])
  lasts[#lasts + 1] = tonumber(ARGV[i + 1])
  counts[#counts + 1] = 0
end

local letters = redis.call('HGETALL', seatsKey)
for i = 1, #letters, 2 do
  if letters[i + 1] == 'A' then
    local id = tonumber(letters[i])
    -- Binary search for the last section whose first seat id is at most id.
    local low, high = 1, #firsts
    while low < high do
      local middle = math.floor((low + high + 1) / 2)
      if firsts[middle] <= id then low = middle else high = middle - 1 end
    end
    if low >= 1 and firsts[low] <= id and id <= lasts[low] then counts[low] = counts[low] + 1 end
  end
end

local answer = table.concat(counts, ',')
redis.call('SET', cacheKey, answer, 'PX', ARGV[1])
return {'OK', answer}
