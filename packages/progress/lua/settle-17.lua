--[[
  Settles a batch of URLs of one crawl, each exactly once, as processed,
  failed or skipped, all in one call: per URL the done-set guard, the redirect
  target claimed, one counter (HINCRBY), the stored result, its page event
  and, for a processed page, its (last chunk of) links claimed; then, once
  for the batch, the next URLs dispatched and the completion when frontier and
  in-flight are both empty. Batching is group commit: settles that arrive
  while one call is in flight share the next.
  A processed page that followed a redirect claims its final URL in the seen
  hash in the same step as the done-set guard: if nobody had it the page is
  stored; if the crawl already knew it (another page, a link, a sitemap), the
  page is settled as skipped (redirect_known) instead. The done set makes this
  once per URL, so a retry that follows the redirect again is stored once.
  KEYS: all 17 crawl keys (it can end the crawl, which puts the TTL on every one)
  ARGV[1] number of records, then per record 10 + L values:
    url, outcome (processed | failed | skipped), event type (page | page_failed | page_skipped),
    event payload JSON, stored result (compressed page, or error item JSON),
    child depth, final URL ('' when the page was not redirected),
    redirect_known event payload JSON and error item JSON ('' when no final URL),
    L = number of links, then L normalized in-scope links
  Returns {'missing'} | {'finished', status}
        | {'batch', completed(0|1), discovered, processed, failed, skipped, n,
           result1..resultN ('settled' | 'duplicate' | 'unknown'), url, depth, jobId, ...}
]]
--@keys meta counters events seen frontier inflight done pages pageOrder errors expanded robots hosts secrets dedupe rejected rejectedOrder
--@include includes/crawl.lua
--@include includes/frontier.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end

local function settleOne(at)
  local url, outcome, eventType, payload, stored = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
  local childDepth, finalUrl = tonumber(ARGV[at + 5]), ARGV[at + 6]
  if redis.call('HEXISTS', seenKey, url) == 0 then return 'unknown' end
  if redis.call('SADD', doneKey, url) == 0 then return 'duplicate' end
  if redis.call('HDEL', inflightKey, url) == 0 then
    -- Settled before it was dispatched (e.g. by a sweep): take it off the frontier.
    redis.call('LREM', frontierKey, 1, url)
  end
  if outcome == 'processed' and finalUrl ~= '' and redis.call('HSETNX', seenKey, finalUrl, childDepth - 1) == 0 then
    outcome, eventType, payload, stored = 'skipped', 'page_skipped', ARGV[at + 7], ARGV[at + 8]
  end
  redis.call('HINCRBY', countersKey, outcome, 1)
  if outcome == 'processed' then
    redis.call('HSET', pagesKey, url, stored)
    redis.call('RPUSH', pageOrderKey, url)
  else
    redis.call('RPUSH', errorsKey, stored)
  end
  appendEvent(meta, eventType, payload)
  local linkCount = tonumber(ARGV[at + 9])
  if outcome == 'processed' and linkCount > 0 then
    local links = {}
    for j = at + 10, at + 9 + linkCount do links[#links + 1] = ARGV[j] end
    accept(meta, childDepth, links)
  end
  return 'settled'
end

local n = tonumber(ARGV[1])
local results = {}
local at = 2
for i = 1, n do
  results[i] = settleOne(at)
  at = at + 10 + tonumber(ARGV[at + 9])
end
local now = nowMs()
local dispatched = {}
local completed = dispatchOrComplete(meta, now, dispatched)
local c = readCounters()
wake(meta)
local out = { 'batch', completed, c.discovered, c.processed, c.failed, c.skipped, n }
for i = 1, n do out[#out + 1] = results[i] end
for i = 1, #dispatched do out[#out + 1] = dispatched[i] end
return out
