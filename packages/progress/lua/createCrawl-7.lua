--[[
  Creates a crawl atomically: meta, counters, the `started` event, the start
  URL and the extra start URLs (options.urls) claimed at depth 0, in order,
  within maxPages (with their `discovered` event), and dispatched; the
  crawl's request headers (options.headers) in the secrets hash, which lives
  at most the crawl's TTL (the terminal transition deletes it), so it can never
  outlive the crawl's other keys.
  KEYS: meta, counters, events, seen, frontier, inflight, secrets
  ARGV[1] id            ARGV[2] start URL (normalized)   ARGV[3] options JSON
  ARGV[4] owner         ARGV[5] max events (MAXLEN ~)    ARGV[6] TTL seconds after the end
  ARGV[7] wake channel  ARGV[8] maxPages  ARGV[9] maxDepth  ARGV[10] concurrency
  ARGV[11] the channel announcing ended crawls (globalKeys().ended)
  ARGV[12] the command that publishes wake-ups: PUBLISH, or SPUBLISH on a Redis
           Cluster (the wake channel hashes to the crawl's slot, so readers
           subscribe on the one shard that owns the crawl)
  ARGV[13] n, the number of request headers; ARGV[14 .. 13 + 2n] name, value pairs
  ARGV[14 + 2n ..] the extra start URLs (normalized; options.urls)
  Returns {'exists'} or {'created', url, depth, jobId, ...}
]]
--@keys meta counters events seen frontier inflight secrets
--@include includes/crawl.lua
--@include includes/frontier.lua

if redis.call('EXISTS', metaKey) == 1 then return {'exists'} end
-- The first write, so a write refused here (OOM) leaves nothing else behind.
local headers = tonumber(ARGV[13])
if headers > 0 then
  redis.call('HSET', secretsKey, unpack(ARGV, 14, 13 + 2 * headers))
  redis.call('EXPIRE', secretsKey, ARGV[6])
end
local now = nowMs()
redis.call('HSET', metaKey,
  'id', ARGV[1], 'url', ARGV[2], 'status', 'running', 'options', ARGV[3], 'owner', ARGV[4],
  'createdAt', now, 'startedAt', now, 'maxEvents', ARGV[5], 'ttl', ARGV[6], 'channel', ARGV[7],
  'maxPages', ARGV[8], 'maxDepth', ARGV[9], 'concurrency', ARGV[10], 'endedChannel', ARGV[11],
  'wakeCommand', ARGV[12])
redis.call('HSET', countersKey, 'discovered', 0, 'processed', 0, 'failed', 0, 'skipped', 0)
local meta = loadMeta()
local firstId = appendEvent(meta, 'started', '{"url":' .. cjson.encode(ARGV[2]) .. ',"options":' .. ARGV[3] .. '}')
redis.call('HSET', metaKey, 'firstId', firstId)
local starts = { ARGV[2] }
for i = 14 + 2 * headers, #ARGV do starts[#starts + 1] = ARGV[i] end
accept(meta, 0, starts)
local out = { 'created' }
dispatch(meta, now, out)
wake(meta)
return out
