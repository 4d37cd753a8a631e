--[[
  Claims URLs found outside a page settle (sitemaps): dedupe, maxPages,
  maxDepth, then dispatch. Idempotent per parent: a retried parent re-gets its
  own children and nobody else's.
  KEYS: meta, counters, events, seen, frontier, inflight, expanded
  ARGV[1] parent key    ARGV[2] depth    ARGV[3..] normalized URLs
  Returns {'finished', status} or {'claimed', acceptedCount, fresh(0|1), url1..urlN, '|', url, depth, jobId, ...}
]]
--@keys meta counters events seen frontier inflight expanded
--@include includes/crawl.lua
--@include includes/frontier.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
local urls = {}
for i = 3, #ARGV do urls[#urls + 1] = ARGV[i] end
local accepted, fresh = claim(meta, ARGV[1], tonumber(ARGV[2]), urls)
local out = { 'claimed', #accepted, fresh and 1 or 0 }
for i = 1, #accepted do out[#out + 1] = accepted[i] end
out[#out + 1] = '|'
dispatch(meta, nowMs(), out)
wake(meta)
return out
