--[[
  Shared prelude of every per-crawl script. A script declares the keys it
  takes on its `--@keys` line (its file name ends in their count); the loader
  (src/scripts.ts) turns that line into locals, in this order, all hash-tagged
  with the crawl id (one Cluster slot):
    metaKey  countersKey  eventsKey  seenKey (url -> depth)  frontierKey
    inflightKey (url -> "<generation>|<dispatchedAtMs>|<depth>|<jobId>")
    doneKey  pagesKey  pageOrderKey  errorsKey  expandedKey
    robotsKey (host -> robots.txt JSON; "lock <host>" -> lock expiry ms)
    hostsKey (host -> next request time, for politeness)
  A key the script does not declare is `false`, so using it fails loudly.
  Every write to these keys is in a script that first checks the crawl is
  running: the terminal transition (only in scripts that take all 17 keys)
  puts the TTL on every key, and nothing writes a key after it (so nothing
  outlives the crawl's TTL).
]]

-- Variadic commands take at most this many arguments per call (Lua's unpack
-- has a stack limit near 8,000).
local CHUNK = 1000
local function callChunked(command, key, list, step)
  step = step or 1
  local size = CHUNK * step
  for first = 1, #list, size do
    redis.call(command, key, unpack(list, first, math.min(first + size - 1, #list)))
  end
end

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The settings a crawl was created with, read once per call.
local function loadMeta()
  local m = redis.call('HMGET', metaKey, 'status', 'maxEvents', 'channel', 'ttl',
    'maxPages', 'maxDepth', 'concurrency', 'startedAt', 'id', 'endedChannel', 'wakeCommand')
  if not m[1] then return nil end
  return {
    status = m[1], maxEvents = m[2], channel = m[3], ttl = tonumber(m[4]),
    maxPages = tonumber(m[5]), maxDepth = tonumber(m[6]), concurrency = tonumber(m[7]),
    startedAt = tonumber(m[8]), id = m[9], endedChannel = m[10],
    -- SPUBLISH on a Redis Cluster; crawls created before the field existed publish classically.
    wakeCommand = m[11] or 'PUBLISH',
  }
end

local function readCounters()
  local c = redis.call('HMGET', countersKey, 'discovered', 'processed', 'failed', 'skipped')
  return {
    discovered = tonumber(c[1]) or 0, processed = tonumber(c[2]) or 0,
    failed = tonumber(c[3]) or 0, skipped = tonumber(c[4]) or 0,
  }
end

local function countersJson(c)
  return string.format('{"discovered":%d,"processed":%d,"failed":%d,"skipped":%d}',
    c.discovered, c.processed, c.failed, c.skipped)
end

-- Appends one event; the stream id is the event id. Readers are woken once,
-- at the end of the call, with wake().
local lastEventId = nil
local function appendEvent(meta, kind, payloadJson)
  lastEventId = redis.call('XADD', eventsKey, 'MAXLEN', '~', meta.maxEvents, '*',
    't', kind, 'd', payloadJson)
  return lastEventId
end

local function wake(meta)
  if lastEventId then redis.call(meta.wakeCommand, meta.channel, lastEventId) end
end

-- Stream ids compare numerically: "<ms>-<seq>".
local function parseId(id)
  local dash = string.find(id, '-', 1, true)
  if not dash then return tonumber(id) or 0, 0 end
  return tonumber(string.sub(id, 1, dash - 1)) or 0, tonumber(string.sub(id, dash + 1)) or 0
end

local function idLess(a, b)
  local am, as = parseId(a)
  local bm, bs = parseId(b)
  if am ~= bm then return am < bm end
  return as < bs
end
