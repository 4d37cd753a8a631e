--[[
  Settles a batch of URLs of one crawl, each exactly once, as processed,
  failed or skipped, all in one call: per URL the done-set guard, one counter
  (HINCRBY), the stored result, its page event and, for a processed page, its
  links claimed; then, once for the batch, the next URLs dispatched and the
  completion when frontier and in-flight are both empty. Batching is group
  commit: settles that arrive while one call is in flight share the next.
  KEYS: the 13 crawl keys
  ARGV[1] number of records, then per record 7 + L values:
    url, outcome (processed | failed | skipped), event type (page | page_failed | page_skipped),
    event payload JSON, stored result (compressed page, or error item JSON),
    child depth, L = number of links, then L normalized in-scope links
  Returns {'missing'} | {'finished', status}
        | {'batch', completed(0|1), discovered, processed, failed, skipped, n,
           result1..resultN ('settled' | 'duplicate' | 'unknown'), url, depth, jobId, ...}
]]
--@include includes/crawl.lua
--@include includes/frontier.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end

local function settleOne(at)
  local url, outcome = ARGV[at], ARGV[at + 1]
  if redis.call('HEXISTS', seenKey, url) == 0 then return 'unknown' end
  if redis.call('SADD', doneKey, url) == 0 then return 'duplicate' end
  if redis.call('HDEL', inflightKey, url) == 0 then
    -- Settled before it was dispatched (e.g. by a sweep): take it off the frontier.
    redis.call('LREM', frontierKey, 1, url)
  end
  redis.call('HINCRBY', countersKey, outcome, 1)
  if outcome == 'processed' then
    redis.call('HSET', pagesKey, url, ARGV[at + 4])
    redis.call('RPUSH', pageOrderKey, url)
  else
    redis.call('RPUSH', errorsKey, ARGV[at + 4])
  end
  appendEvent(meta, ARGV[at + 2], ARGV[at + 3])
  local linkCount = tonumber(ARGV[at + 6])
  if outcome == 'processed' and linkCount > 0 then
    local links = {}
    for j = at + 7, at + 6 + linkCount do links[#links + 1] = ARGV[j] end
    accept(meta, tonumber(ARGV[at + 5]), links)
  end
  return 'settled'
end

local n = tonumber(ARGV[1])
local results = {}
local at = 2
for i = 1, n do
  results[i] = settleOne(at)
  at = at + 7 + tonumber(ARGV[at + 6])
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
