--[[
  Cancels a running crawl: compare-and-set on the status, so exactly one
  terminal event can ever exist.
  KEYS: all 17 crawl keys (it can end the crawl, which puts the TTL on every one)
  Returns {'missing'} | {'finished', status} | {'cancelled'}
]]
--@keys meta counters events seen frontier inflight done pages pageOrder errors expanded robots hosts secrets dedupe rejected rejectedOrder
--@include includes/crawl.lua
--@include includes/frontier.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' and meta.status ~= 'queued' then return {'finished', meta.status} end
finish(meta, nowMs(), 'cancelled', function(c)
  return '{"counters":' .. countersJson(c) .. '}'
end)
wake(meta)
return {'cancelled'}
