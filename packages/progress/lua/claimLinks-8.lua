--[[
  Claims one chunk of a processed page's links before the page's settle, so
  that no single call carries all of a page with thousands of links (each
  call stays well under MAX_REDIS_COMMAND_MS). The settle carries the last
  chunk; the page stays in flight until then, so the crawl cannot complete
  between the chunks and its settle. Idempotent: accept() dedupes on the seen
  hash, so a retried page re-claiming a chunk accepts nothing twice and needs
  no per-chunk record. Claims nothing for a page that is settled already, or
  whose redirect target the crawl knows (its settle will be redirect_known).
  Links refused for maxDepth or maxPages are recorded as rejected (found on
  the page), as the settle does.
  KEYS: meta, counters, events, seen, frontier, done, rejected, rejectedOrder
  ARGV[1] page URL   ARGV[2] final URL ('' when not redirected)   ARGV[3] child depth
  ARGV[4..] normalized in-scope links
  Returns {'missing'} | {'finished', status} | {'unknown'} | {'settled'} | {'redirect_known'}
        | {'claimed', acceptedCount}
]]
--@keys meta counters events seen frontier done rejected rejectedOrder
--@include includes/crawl.lua
--@include includes/frontier.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
local url, finalUrl = ARGV[1], ARGV[2]
if redis.call('HEXISTS', seenKey, url) == 0 then return {'unknown'} end
if redis.call('SISMEMBER', doneKey, url) == 1 then return {'settled'} end
if finalUrl ~= '' and redis.call('HEXISTS', seenKey, finalUrl) == 1 then return {'redirect_known'} end
local links = {}
for i = 4, #ARGV do links[#links + 1] = ARGV[i] end
local accepted = accept(meta, tonumber(ARGV[3]), links, url)
wake(meta)
return {'claimed', #accepted}
