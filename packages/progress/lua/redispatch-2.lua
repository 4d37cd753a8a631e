--[[
  Hands an in-flight URL whose job vanished to a new job (compare-and-set on
  its generation, so two sweepers cannot both re-dispatch it).
  KEYS: meta, inflight
  ARGV[1] url   ARGV[2] expected generation
  Returns {'missing'} | {'finished', status} | {'stale'} | {'redispatched', url, depth, jobId, generation}
]]
--@keys meta inflight
--@include includes/crawl.lua
--@include includes/frontier.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
local record = redis.call('HGET', inflightKey, ARGV[1])
if not record then return {'stale'} end
-- (Records written before job ids were stored end at the depth.)
local gen, _, depth = string.match(record, '^(%d+)|(%d+)|(%d+)')
if gen ~= ARGV[2] then return {'stale'} end
local nextGen = tonumber(gen) + 1
local updated, id = inflightRecord(meta, ARGV[1], nextGen, nowMs(), depth)
redis.call('HSET', inflightKey, ARGV[1], updated)
return {'redispatched', ARGV[1], depth, id, nextGen}
