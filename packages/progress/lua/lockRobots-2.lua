--[[
  Takes the right to fetch a host's robots.txt for a crawl for ARGV[2] ms, so
  that one worker fetches it and the others wait for saveRobots. The lock is
  a field of the robots hash ("lock <host>" -> expiry epoch ms; a host never
  contains a space), so the crawl's TTL covers it. Only while the crawl runs.
  KEYS: meta, robots
  ARGV[1] host   ARGV[2] lock time in ms
  Returns {'missing'} | {'finished', status} | {'stored'} (robots.txt is there already)
        | {'busy'} (another worker holds the lock) | {'locked'}
]]
--@keys meta robots
--@include includes/crawl.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
if redis.call('HEXISTS', robotsKey, ARGV[1]) == 1 then return {'stored'} end
local field = 'lock ' .. ARGV[1]
local now = nowMs()
local held = tonumber(redis.call('HGET', robotsKey, field) or '0')
if held > now then return {'busy'} end
redis.call('HSET', robotsKey, field, now + tonumber(ARGV[2]))
return {'locked'}
