--[[
  Cancels a running crawl: compare-and-set on the status, so exactly one
  terminal event can ever exist.
  KEYS: the 13 crawl keys
  Returns {'missing'} | {'finished', status} | {'cancelled'}
]]
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
