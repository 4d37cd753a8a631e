--[[
  Reserves the next request slot for a host of a crawl, across all workers:
  requests to one host are at least ARGV[2] ms apart. Returns how long the
  caller must wait for its slot (0 = go now); the slot is then the caller's,
  so a delayed job does not reserve again.
  KEYS: the 13 crawl keys
  ARGV[1] host   ARGV[2] least gap in ms
  Returns {wait ms, slot epoch ms}
]]
--@include includes/crawl.lua

local now = nowMs()
local gap = tonumber(ARGV[2])
local next = tonumber(redis.call('HGET', hostsKey, ARGV[1]) or '0')
local slot = math.max(now, next)
redis.call('HSET', hostsKey, ARGV[1], slot + gap)
return { slot - now, slot }
