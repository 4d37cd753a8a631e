--[[
  Appends a `progress` event with the counters as they are now, unless one was
  appended less than ARGV[1] ms ago by any process (a global throttle), and
  only while the crawl runs (nothing ever follows the terminal event).
  pagesPerSecond is smoothed over the pages settled since the last one.
  KEYS: meta, counters, events
  ARGV[1] least interval in ms
  Returns {'missing'} | {'finished', status} | {'throttled', msLeft} | {'appended', id}
]]
--@keys meta counters events
--@include includes/crawl.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
local now = nowMs()
local last = redis.call('HMGET', metaKey, 'progressAt', 'progressProcessed', 'progressRate')
local lastAt = tonumber(last[1]) or meta.startedAt
local interval = tonumber(ARGV[1])
if last[1] and now - lastAt < interval then return {'throttled', interval - (now - lastAt)} end
local c = readCounters()
local elapsed = math.max(now - lastAt, 1)
local instant = (c.processed - (tonumber(last[2]) or 0)) * 1000 / elapsed
local rate = last[3] and (0.5 * tonumber(last[3]) + 0.5 * instant) or instant
redis.call('HSET', metaKey, 'progressAt', now, 'progressProcessed', c.processed, 'progressRate', rate)
local id = appendEvent(meta, 'progress', '{"counters":' .. countersJson(c) ..
  ',"pagesPerSecond":' .. string.format('%.3f', rate) .. '}')
wake(meta)
return {'appended', id}
