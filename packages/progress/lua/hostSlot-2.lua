--[[
  Reserves the next request slot for a host of a crawl, across all workers:
  requests to one host are at least ARGV[2] ms apart. Returns how long the
  caller must wait for its slot (0 = go now); the slot is then the caller's,
  so a delayed job does not reserve again. Only while the crawl runs: after
  the terminal state nothing writes the crawl's keys (their TTL is set).
  KEYS: meta, hosts
  ARGV[1] host   ARGV[2] least gap in ms
  Returns {'missing'} | {'finished', status} | {'slot', wait ms, slot epoch ms}
]]
--@keys meta hosts
--@include includes/crawl.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
local now = nowMs()
local gap = tonumber(ARGV[2])
local next = tonumber(redis.call('HGET', hostsKey, ARGV[1]) or '0')
local slot = math.max(now, next)
redis.call('HSET', hostsKey, ARGV[1], slot + gap)
return { 'slot', slot - now, slot }
