--[[
  Settles one URL exactly once as processed, failed or skipped, all in one
  call: the done-set guard, one counter (HINCRBY), the stored result, the page
  event, the children of a processed page claimed, the next URLs dispatched,
  and completion when frontier and in-flight are both empty.
  KEYS: the 12 crawl keys
  ARGV[1] url   ARGV[2] outcome: processed | failed | skipped
  ARGV[3] event type (page | page_failed | page_skipped)   ARGV[4] event payload JSON
  ARGV[5] stored result: compressed page (processed) or error item JSON
  ARGV[6] child depth    ARGV[7..] normalized in-scope links (processed only)
  Returns {'missing'} | {'finished', status} | {'unknown'} | {'duplicate'}
        | {'settled', completed(0|1), discovered, processed, failed, skipped, url, depth, jobId, ...}
]]
--@include includes/crawl.lua
--@include includes/frontier.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
local url, outcome = ARGV[1], ARGV[2]
if redis.call('SISMEMBER', seenKey, url) == 0 then return {'unknown'} end
if redis.call('SADD', doneKey, url) == 0 then return {'duplicate'} end
if redis.call('HDEL', inflightKey, url) == 0 then
  -- Settled before it was dispatched (e.g. by a sweep): take it off the frontier.
  redis.call('LREM', frontierKey, 1, url)
end
redis.call('HINCRBY', countersKey, outcome, 1)
if outcome == 'processed' then
  redis.call('HSET', pagesKey, url, ARGV[5])
  redis.call('RPUSH', pageOrderKey, url)
else
  redis.call('RPUSH', errorsKey, ARGV[5])
end
appendEvent(meta, ARGV[3], ARGV[4])
if outcome == 'processed' and #ARGV >= 7 then
  local links = {}
  for i = 7, #ARGV do links[#links + 1] = ARGV[i] end
  claim(meta, url, tonumber(ARGV[6]), links)
end
local now = nowMs()
local dispatched = {}
dispatch(meta, now, dispatched)
local completed = completeIfDrained(meta, now)
local c = readCounters()
wake(meta)
local out = { 'settled', completed, c.discovered, c.processed, c.failed, c.skipped }
for i = 1, #dispatched do out[#out + 1] = dispatched[i] end
return out
