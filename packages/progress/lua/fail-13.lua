--[[
  Fails a running crawl (compare-and-set, like cancel).
  KEYS: the 13 crawl keys
  ARGV[1] error JSON {code, message}
  Returns {'missing'} | {'finished', status} | {'failed'}
]]
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
