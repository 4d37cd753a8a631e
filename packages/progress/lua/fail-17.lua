--[[
  Fails a running crawl (compare-and-set, like cancel).
  KEYS: all 17 crawl keys (it can end the crawl, which puts the TTL on every one)
  ARGV[1] error JSON {code, message}
  Returns {'missing'} | {'finished', status} | {'failed'}
]]
--@keys meta counters events seen frontier inflight done pages pageOrder errors expanded robots hosts secrets dedupe rejected rejectedOrder
--@include includes/crawl.lua
--@include includes/frontier.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' and meta.status ~= 'queued' then return {'finished', meta.status} end
redis.call('HSET', metaKey, 'error', ARGV[1])
finish(meta, nowMs(), 'failed', function(c)
  return '{"error":' .. ARGV[1] .. ',"counters":' .. countersJson(c) .. '}'
end)
wake(meta)
return {'failed'}
