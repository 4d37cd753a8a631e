--[[
  Fills free in-flight slots from the frontier, and completes a crawl whose
  frontier and in-flight are both empty (so no crawl stays running forever).
  KEYS: all 17 crawl keys (it can end the crawl, which puts the TTL on every one)
  Returns {'missing'} | {'finished', status} | {'dispatched', completed(0|1), url, depth, jobId, ...}
]]
--@keys meta counters events seen frontier inflight done pages pageOrder errors expanded robots hosts secrets dedupe rejected rejectedOrder
--@include includes/crawl.lua
--@include includes/frontier.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
local now = nowMs()
local out = { 'dispatched', 0 }
out[2] = dispatchOrComplete(meta, now, out)
wake(meta)
return out
