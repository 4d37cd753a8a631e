--[[
  Stores a host's robots.txt (as fetched, JSON) for a crawl and releases the
  host's lock (lockRobots-2.lua). Only while the crawl runs.
  KEYS: meta, robots
  ARGV[1] host   ARGV[2] stored robots.txt JSON
  Returns {'missing'} | {'finished', status} | {'saved'}
]]
--@keys meta robots
--@include includes/crawl.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
redis.call('HSET', robotsKey, ARGV[1], ARGV[2])
redis.call('HDEL', robotsKey, 'lock ' .. ARGV[1])
return {'saved'}
