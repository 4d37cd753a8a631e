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
  Dedupe (options.dedupe; the worker sends the crawl's modes with the page):
  a processed page is settled as skipped (duplicate, duplicateOf) when, with
  canonical on, its canonical (other than its own URL) or its own URL or final
  URL is a "canonical <url>" field of the dedupe hash (a stored page's URL, or
  a URL a stored page named canonical), or, with content on, its content hash
  is a "content <sha256>" field. Otherwise it is stored and its fields are set
  (HSETNX), pointing at its URL. First stored wins: the script is the only
  writer and runs once per URL (done set), so of N racing copies exactly one is
  stored. A duplicate's links are still claimed (it is the same site; a page
  reachable only through the copy that lost a race must not be lost).
  KEYS: all 17 crawl keys (it can end the crawl, which puts the TTL on every one)
  ARGV[1] number of records, then per record 14 + L + 2R values:
    url, outcome (processed | failed | skipped), event type (page | page_failed | page_skipped),
    event payload JSON, stored result (compressed page, or error item JSON),
    child depth, final URL ('' when the page was not redirected),
    redirect_known event payload JSON and error item JSON ('' when no final URL),
    dedupe on canonical ('1' | '0'), the page's canonical URL (''), its content hash ('' = content not checked),
    L = number of links, then L normalized in-scope links,
    R = number of links the worker rejected, then R pairs of URL and reason
  A processed page's links refused for maxDepth or maxPages, and those the
  worker rejected (scope, globs, robots.txt), are recorded as rejected
  (rejectLinks in includes/frontier.lua), found on the page.
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

-- The stored page a processed page duplicates, or nil.
local function duplicateOf(url, finalUrl, byCanonical, canonical, contentHash)
  local fields = {}
  if byCanonical then
    if canonical ~= '' and canonical ~= url and canonical ~= finalUrl then fields[#fields + 1] = 'canonical ' .. canonical end
    fields[#fields + 1] = 'canonical ' .. url
    if finalUrl ~= '' then fields[#fields + 1] = 'canonical ' .. finalUrl end
  end
  if contentHash ~= '' then fields[#fields + 1] = 'content ' .. contentHash end
  if #fields == 0 then return nil end
  local found = redis.call('HMGET', dedupeKey, unpack(fields))
  for i = 1, #fields do
    if found[i] then return found[i] end
  end
  return nil
end

-- A stored page's dedupe fields, each kept for the first page that set it.
local function rememberStored(url, finalUrl, byCanonical, canonical, contentHash)
  if byCanonical then
    redis.call('HSETNX', dedupeKey, 'canonical ' .. url, url)
    if finalUrl ~= '' then redis.call('HSETNX', dedupeKey, 'canonical ' .. finalUrl, url) end
    if canonical ~= '' then redis.call('HSETNX', dedupeKey, 'canonical ' .. canonical, url) end
  end
  if contentHash ~= '' then redis.call('HSETNX', dedupeKey, 'content ' .. contentHash, url) end
end

local function settleOne(at)
  local url, outcome, eventType, payload, stored = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
  local childDepth, finalUrl = tonumber(ARGV[at + 5]), ARGV[at + 6]
  if redis.call('HEXISTS', seenKey, url) == 0 then return 'unknown' end
  if redis.call('SADD', doneKey, url) == 0 then return 'duplicate' end
  if redis.call('HDEL', inflightKey, url) == 0 then
    -- Settled before it was dispatched (e.g. by a sweep): take it off the frontier.
    redis.call('LREM', frontierKey, 1, url)
  end
  -- A processed page's links are claimed, a duplicate's too (see the header);
  -- a redirect_known page's are not (the target's own settle claims them).
  local followLinks = outcome == 'processed'
  if outcome == 'processed' and finalUrl ~= '' and redis.call('HSETNX', seenKey, finalUrl, childDepth - 1) == 0 then
    outcome, eventType, payload, stored = 'skipped', 'page_skipped', ARGV[at + 7], ARGV[at + 8]
    followLinks = false
  end
  if outcome == 'processed' then
    local byCanonical, canonical, contentHash = ARGV[at + 9] == '1', ARGV[at + 10], ARGV[at + 11]
    local original = duplicateOf(url, finalUrl, byCanonical, canonical, contentHash)
    if original then
      outcome, eventType = 'skipped', 'page_skipped'
      payload = cjson.encode({ url = url, reason = 'duplicate', duplicateOf = original })
      stored = cjson.encode({ url = url, kind = 'skipped', reason = 'duplicate',
        message = 'duplicate of a stored page', duplicateOf = original })
    else
      rememberStored(url, finalUrl, byCanonical, canonical, contentHash)
    end
  end
  redis.call('HINCRBY', countersKey, outcome, 1)
  if outcome == 'processed' then
    redis.call('HSET', pagesKey, url, stored)
    redis.call('RPUSH', pageOrderKey, url)
  else
    redis.call('RPUSH', errorsKey, stored)
  end
  appendEvent(meta, eventType, payload)
  local linkCount = tonumber(ARGV[at + 12])
  if followLinks and linkCount > 0 then
    local links = {}
    for j = at + 13, at + 12 + linkCount do links[#links + 1] = ARGV[j] end
    accept(meta, childDepth, links, url)
  end
  local r = at + 13 + linkCount
  local rejectedCount = tonumber(ARGV[r])
  if followLinks and rejectedCount > 0 then
    local urls, reasons = {}, {}
    for j = r + 1, r + 2 * rejectedCount, 2 do
      urls[#urls + 1] = ARGV[j]
      reasons[#reasons + 1] = ARGV[j + 1]
    end
    rejectLinks(url, urls, reasons)
  end
  return 'settled'
end

local n = tonumber(ARGV[1])
local results = {}
local at = 2
for i = 1, n do
  results[i] = settleOne(at)
  local linkCount = tonumber(ARGV[at + 12])
  at = at + 14 + linkCount + 2 * tonumber(ARGV[at + 13 + linkCount])
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
