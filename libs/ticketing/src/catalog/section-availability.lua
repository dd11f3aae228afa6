--[[
  Available seats of each section of one performance, counted from the live seat letters in
  steps, so no call blocks Redis for long whatever the size of the performance: a call answers
  the count of the last complete pass while that is at most ARGV[1] ms old; past that it scans one
  more step of ARGV[2] seats (HSCAN) and still answers the last complete pass, which the step
  that ends a pass replaces. Only the very first count, or one older than ARGV[3] ms (no reader
  for a long while), runs a whole pass in one call. A seat counts as available while its letter
  is A (a seat of an expired hold the sweeper has not freed yet counts as held, as in the counts
  hash); the letters change during a pass, so a count is a moment's picture, clamped to 0 …
  the section's size by the caller.

  KEYS[1] meta    hash of the performance; `currency` present = registered
  KEYS[2] seats   hash seat id -> status letter (A available, H held, S sold)
  KEYS[3] count   hash: answer (comma-separated counts of the last complete pass), answeredAt
                  (epoch ms), cursor (HSCAN cursor of the pass under way), partial (its counts)

  ARGV[1] how long a complete count answers without a step (ms)
  ARGV[2] seats per step (HSCAN COUNT)
  ARGV[3] past this age (ms) of the last complete count, a call runs a whole pass
  ARGV[4..] pairs: first and last seat id of each section, ascending and disjoint (a seat of the
            performance lies in exactly one)

  Returns one of
    {'OK', counts}        counts: comma-separated available seats per section, in ARGV order
    {'NO_PERFORMANCE'}    not registered
]]
--- @keys 3
--- @include "redis-time"
local metaKey, seatsKey, countKey = KEYS[1], KEYS[2], KEYS[3]
local keepMs, step, wholeAfterMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if not redis.call('HGET', metaKey, 'currency') then return {'NO_PERFORMANCE'} end

local now = redisNow()
local state = redis.call('HMGET', countKey, 'answer', 'answeredAt', 'cursor', 'partial')
local answer, answeredAt = state[1], tonumber(state[2] or '0')
if answer and now - answeredAt < keepMs then return {'OK', answer} end

local firsts, lasts, counts = {}, {}, {}
for i = 4, #ARGV, 2 do
  firsts[#firsts + 1] = tonumber(ARGV[i])
  lasts[#lasts + 1] = tonumber(ARGV[i + 1])
  counts[#counts + 1] = 0
end
local cursor = state[3] or '0'
if cursor ~= '0' and state[4] then
  local i = 0
  for count in string.gmatch(state[4], '[^,]+') do
    i = i + 1
    counts[i] = tonumber(count)
  end
end

local whole = not answer or now - answeredAt >= wholeAfterMs
repeat
  local scanned = redis.call('HSCAN', seatsKey, cursor, 'COUNT', step)
  cursor = scanned[1]
  local letters = scanned[2]
  for i = 1, #letters, 2 do
    if letters[i + 1] == 'A' then
      local id = tonumber(letters[i])
      -- Binary search for the last section whose first seat id is at most id.
      local low, high = 1, #firsts
      while low < high do
        local middle = math.floor((low + high + 1) / 2)
        if firsts[middle] <= id then low = middle else high = middle - 1 end
      end
      -- No section at all (a layout read while a delete removed the seats): nothing to count into.
      if low <= #firsts and firsts[low] <= id and id <= lasts[low] then counts[low] = counts[low] + 1 end
    end
  end
until cursor == '0' or not whole

if cursor == '0' then
  answer = table.concat(counts, ',')
  redis.call('HSET', countKey, 'answer', answer, 'answeredAt', now, 'cursor', '0', 'partial', '')
else
  redis.call('HSET', countKey, 'cursor', cursor, 'partial', table.concat(counts, ','))
end
return {'OK', answer}
