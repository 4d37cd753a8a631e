-- Claiming, dispatching and finishing, shared by the scripts that change a
-- crawl's frontier. Needs includes/crawl.lua.

local DISCOVERED_BATCH = 500

local function jobId(meta, url, gen)
  return meta.id .. '-' .. gen .. '-' .. string.sub(redis.sha1hex(url), 1, 20)
end

-- Accepts new URLs found on `parent` at `depth`: dedupes on the normalized
-- URL, stops at maxPages, refuses past maxDepth. Remembers what each parent
-- got, so a retried parent re-gets its own children and nobody else's.
local function claim(meta, parent, depth, urls)
  local prior = redis.call('HGET', expandedKey, parent)
  if prior then return cjson.decode(prior), false end
  local accepted = {}
  if depth <= meta.maxDepth then
    local discovered = tonumber(redis.call('HGET', countersKey, 'discovered')) or 0
    for i = 1, #urls do
      if discovered + #accepted >= meta.maxPages then break end
      local url = urls[i]
      if redis.call('SADD', seenKey, url) == 1 then
        accepted[#accepted + 1] = url
        redis.call('HSET', depthKey, url, depth)
        redis.call('RPUSH', frontierKey, url)
      end
    end
    if #accepted > 0 then
      redis.call('HINCRBY', countersKey, 'discovered', #accepted)
      for first = 1, #accepted, DISCOVERED_BATCH do
        local batch = {}
        for i = first, math.min(first + DISCOVERED_BATCH - 1, #accepted) do
          batch[#batch + 1] = accepted[i]
        end
        appendEvent(meta, 'discovered',
          '{"urls":' .. cjson.encode(batch) .. ',"depth":' .. depth .. '}')
      end
    end
  end
  redis.call('HSET', expandedKey, parent, #accepted > 0 and cjson.encode(accepted) or '[]')
  return accepted, true
end

-- Moves URLs from the frontier into in-flight until `concurrency` are in
-- flight. Appends url, depth, jobId triples to `out`. An in-flight record is
-- "<generation>|<dispatchedAtMs>|<depth>".
local function dispatch(meta, now, out)
  local free = meta.concurrency - redis.call('HLEN', inflightKey)
  while free > 0 do
    local url = redis.call('LPOP', frontierKey)
    if not url then break end
    if redis.call('SISMEMBER', doneKey, url) == 0 and redis.call('HEXISTS', inflightKey, url) == 0 then
      local depth = redis.call('HGET', depthKey, url) or '0'
      redis.call('HSET', inflightKey, url, '1|' .. now .. '|' .. depth)
      out[#out + 1] = url
      out[#out + 1] = depth
      out[#out + 1] = jobId(meta, url, 1)
      free = free - 1
    end
  end
end

local function expireAll(ttl)
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
end

-- The one terminal transition of a crawl. The caller has checked that the
-- crawl is running; the status compare-and-set is this script's atomicity.
-- A last `progress` with the final counters precedes the terminal event.
local function finish(meta, now, status, terminalPayload)
  local c = readCounters()
  local elapsed = math.max(now - (meta.startedAt or now), 1)
  appendEvent(meta, 'progress', '{"counters":' .. countersJson(c) ..
    ',"pagesPerSecond":' .. string.format('%.3f', c.processed * 1000 / elapsed) .. '}')
  local payload = terminalPayload(c, now - (meta.startedAt or now))
  local id = appendEvent(meta, status, payload)
  redis.call('HSET', metaKey, 'status', status, 'finishedAt', now, 'terminalId', id)
  redis.call('DEL', frontierKey, inflightKey)
  expireAll(meta.ttl)
  return c
end

local function completeIfDrained(meta, now)
  if redis.call('LLEN', frontierKey) == 0 and redis.call('HLEN', inflightKey) == 0 then
    finish(meta, now, 'completed', function(c, durationMs)
      return '{"counters":' .. countersJson(c) .. ',"durationMs":' .. durationMs .. '}'
    end)
    return 1
  end
  return 0
end
