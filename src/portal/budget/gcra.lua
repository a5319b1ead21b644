-- The shared rate budget: one GCRA (generic cell rate algorithm) state per portal, run atomically
-- by Redis for every process that draws from it. Time is the server's own (TIME), so the clocks of
-- the processes' machines do not matter.
--
-- KEYS[1]  the theoretical arrival time (TAT) of the next request, in microseconds
-- KEYS[2]  set while the portal's daily limit is spent (its value: HubSpot's message)
-- ARGV[1]  spacing: microseconds between two requests at the sustained rate
-- ARGV[2]  tolerance: how far ahead of the TAT a request may go ((burst - 1) * spacing)
--
-- Returns {0, ""} when a request may leave now (its token is taken), {1, wait} when the next one
-- may leave in `wait` microseconds, {2, message} when the daily limit is spent.
local spent = redis.call('GET', KEYS[2])
if spent then
  return {2, spent}
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local spacing = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local wait = tat - tolerance - now
if wait > 0 then
  return {1, string.format('%.0f', wait)}
end
local next_tat = tat + spacing
-- The state outlives the moment it stops mattering by a second; a missing key means "no debt".
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX',
  math.floor((next_tat - now) / 1000) + 1000)
return {0, ''}
