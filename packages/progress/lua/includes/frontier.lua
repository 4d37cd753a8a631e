-- Claiming, dispatching and finishing, shared by the scripts that change a
-- crawl's frontier. Needs includes/crawl.lua. Invariant: a URL is in at most
-- one of frontier, in-flight and done, and enters the frontier once (when it
-- is first seen), so dispatch needs no per-URL checks.

-- A `discovered` event holds at most this many URLs and this many bytes of
-- JSON payload: MAX_EVENT_BYTES (64 KiB) less 1 KiB for the envelope the
-- stream adds (type, crawlId, ts). One URL (at most MAX_URL_LENGTH = 2,048
-- characters, 6 bytes each when escaped) always fits.
local DISCOVERED_BATCH = 500
local DISCOVERED_BYTES = 63 * 1024

local function appendDiscovered(meta, depth, urls)
  local tail = ',"depth":' .. depth .. '}'
  local budget = DISCOVERED_BYTES - #'{"urls":' - #tail
  for first = 1, #urls, DISCOVERED_BATCH do
    local last = math.min(first + DISCOVERED_BATCH - 1, #urls)
    local whole = cjson.encode({ unpack(urls, first, last) })
    if #whole <= budget then
      appendEvent(meta, 'discovered', '{"urls":' .. whole .. tail)
    else
      -- Long URLs: as many per event as fit.
      local parts, size = {}, 2
      for i = first, last do
        local encoded = cjson.encode(urls[i])
        if #parts > 0 and size + 1 + #encoded > budget then
          appendEvent(meta, 'discovered', '{"urls":[' .. table.concat(parts, ',') .. ']' .. tail)
          parts, size = {}, 2
        end
        size = size + #encoded + (#parts > 0 and 1 or 0)
        parts[#parts + 1] = encoded
      end
      appendEvent(meta, 'discovered', '{"urls":[' .. table.concat(parts, ',') .. ']' .. tail)
    end
  end
end

local function jobId(meta, url, gen)
  return meta.id .. '-' .. gen .. '-' .. string.sub(redis.sha1hex(url), 1, 20)
end

-- Links found on a page but not taken (GET /rejected), in the rejected hash
-- (URL -> {url, reason, foundOn} JSON) and its order list: each URL once
-- (its first reason), none the crawl has seen (accepted URLs are never
-- rejections), at most MAX_REJECTED_PER_CRAWL; past it only counted
-- (counters field `rejectedDropped`, once per page a URL is found on). Counts
-- per reason are counters fields `rejected:<reason>`, outside the contract's
-- four. `reasons` is one reason for all, or a list (one per URL). A script
-- that does not take the rejected keys, or a caller without a page (sitemaps),
-- records nothing.
local MAX_REJECTED = {{MAX_REJECTED_PER_CRAWL}}
local function rejectLinks(foundOn, urls, reasons, from)
  from = from or 1
  if not rejectedKey or not foundOn or from > #urls then return end
  local stored = nil
  local fields, order, counts, dropped, batch = {}, {}, {}, 0, {}
  for first = from, #urls, CHUNK do
    local last = math.min(first + CHUNK - 1, #urls)
    -- Most links of a page are known (a crawl at maxPages, a page's nav): one
    -- HMGET on the seen hash, and the rejected hash only for the others.
    local known = redis.call('HMGET', seenKey, unpack(urls, first, last))
    local unseen, at = {}, {}
    for i = first, last do
      if not known[i - first + 1] and not batch[urls[i]] then
        batch[urls[i]] = true
        unseen[#unseen + 1] = urls[i]
        at[#at + 1] = i
      end
    end
    local already = #unseen > 0 and redis.call('HMGET', rejectedKey, unpack(unseen)) or {}
    for j = 1, #unseen do
      local url = unseen[j]
      if not already[j] then
        stored = stored or redis.call('HLEN', rejectedKey)
        if stored < MAX_REJECTED then
          local reason = type(reasons) == 'table' and reasons[at[j]] or reasons
          stored = stored + 1
          fields[#fields + 1] = url
          fields[#fields + 1] = cjson.encode({ url = url, reason = reason, foundOn = foundOn })
          order[#order + 1] = url
          counts[reason] = (counts[reason] or 0) + 1
        else
          dropped = dropped + 1
        end
      end
    end
  end
  if #order > 0 then
    callChunked('HSET', rejectedKey, fields, 2)
    callChunked('RPUSH', rejectedOrderKey, order)
  end
  for reason, n in pairs(counts) do redis.call('HINCRBY', countersKey, 'rejected:' .. reason, n) end
  if dropped > 0 then redis.call('HINCRBY', countersKey, 'rejectedDropped', dropped) end
end

-- Accepts new URLs found at `depth`: dedupes on the normalized URL (against
-- the crawl and within the list), stops at maxPages, refuses past maxDepth.
-- A handful of variadic calls, whatever the number of links. With `foundOn`
-- (the page they were found on), what it refuses for maxDepth or maxPages is
-- recorded as rejected (rejectLinks).
local function accept(meta, depth, urls, foundOn)
  local accepted = {}
  if #urls == 0 then return accepted end
  if depth > meta.maxDepth then
    rejectLinks(foundOn, urls, 'max_depth')
    return accepted
  end
  local room = meta.maxPages - (tonumber(redis.call('HGET', countersKey, 'discovered')) or 0)
  if room <= 0 then
    rejectLinks(foundOn, urls, 'max_pages')
    return accepted
  end
  local batchSeen = {}
  local full = nil
  for first = 1, #urls, CHUNK do
    local last = math.min(first + CHUNK - 1, #urls)
    local known = redis.call('HMGET', seenKey, unpack(urls, first, last))
    for i = first, last do
      local url = urls[i]
      if not known[i - first + 1] and not batchSeen[url] then
        batchSeen[url] = true
        accepted[#accepted + 1] = url
        if #accepted >= room then full = i break end
      end
    end
    if full then break end
  end
  if #accepted == 0 then return accepted end
  local fields = {}
  for i = 1, #accepted do
    fields[#fields + 1] = accepted[i]
    fields[#fields + 1] = depth
  end
  callChunked('HSET', seenKey, fields, 2)
  callChunked('RPUSH', frontierKey, accepted)
  redis.call('HINCRBY', countersKey, 'discovered', #accepted)
  appendDiscovered(meta, depth, accepted)
  -- The links after the one that filled maxPages (those accepted are seen now).
  if full then rejectLinks(foundOn, urls, 'max_pages', full + 1) end
  return accepted
end

-- accept() for a parent that may be retried (sitemaps): remembers what each
-- parent got, so a retried parent re-gets its own children and nobody else's.
-- (A page settle needs no such record: the done set makes it run once.)
local function claim(meta, parent, depth, urls)
  local prior = redis.call('HGET', expandedKey, parent)
  if prior then return cjson.decode(prior), false end
  local accepted = accept(meta, depth, urls)
  redis.call('HSET', expandedKey, parent, #accepted > 0 and cjson.encode(accepted) or '[]')
  return accepted, true
end

-- An in-flight record: "<generation>|<dispatchedAtMs>|<depth>|<jobId>". The
-- job id is computed here only (jobId above: the URL's own, or `id`, the
-- job's that carries it with others) and read back by the sweep.
local function inflightRecord(meta, url, gen, now, depth, id)
  id = id or jobId(meta, url, gen)
  return gen .. '|' .. now .. '|' .. depth .. '|' .. id, id
end

-- URLs of one page job at most (PAGES_PER_JOB in packages/shared/src/limits.ts).
local PAGES_PER_JOB = {{PAGES_PER_JOB}}

-- Moves URLs from the frontier into in-flight until `concurrency` are in
-- flight. The n URLs moved go to ceil(n / PAGES_PER_JOB) jobs of near-equal
-- size; a job's id is its first URL's, and every URL's record names it.
-- Appends url, depth, jobId triples to `out` (a job's URLs next to each
-- other); returns how many are in flight now.
local function dispatch(meta, now, out)
  local inflight = redis.call('HLEN', inflightKey)
  local free = meta.concurrency - inflight
  if free <= 0 then return inflight end
  local urls = redis.call('LPOP', frontierKey, free)
  if not urls then return inflight end
  local depths = redis.call('HMGET', seenKey, unpack(urls))
  local jobs = math.ceil(#urls / PAGES_PER_JOB)
  local records = {}
  local id
  for i = 1, #urls do
    local depth = depths[i] or '0'
    -- URL i (1-based) is in job floor((i - 1) * jobs / #urls): sizes differ by one at most.
    if i == 1 or math.floor((i - 1) * jobs / #urls) ~= math.floor((i - 2) * jobs / #urls) then
      id = jobId(meta, urls[i], 1)
    end
    records[#records + 1] = urls[i]
    records[#records + 1] = inflightRecord(meta, urls[i], 1, now, depth, id)
    out[#out + 1] = urls[i]
    out[#out + 1] = depth
    out[#out + 1] = id
  end
  redis.call('HSET', inflightKey, unpack(records))
  return inflight + #urls
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
  -- Workers drop their cached `running` for the crawl (crawls created before the field: none to tell).
  if meta.endedChannel then redis.call('PUBLISH', meta.endedChannel, meta.id) end
  -- UNLINK: a frontier of up to maxPages long URLs is freed off the main thread.
  redis.call('UNLINK', frontierKey, inflightKey)
  -- The crawl's request headers (private docs) are kept no longer than it runs.
  if secretsKey then redis.call('UNLINK', secretsKey) end
  expireAll(meta.ttl)
  return c
end

local function complete(meta, now)
  finish(meta, now, 'completed', function(c, durationMs)
    return '{"counters":' .. countersJson(c) .. ',"durationMs":' .. durationMs .. '}'
  end)
end

-- Dispatches, then completes the crawl when nothing is left in flight: with
-- free slots and nothing in flight, dispatch found the frontier empty too.
local function dispatchOrComplete(meta, now, out)
  if dispatch(meta, now, out) == 0 then
    complete(meta, now)
    return 1
  end
  return 0
end
