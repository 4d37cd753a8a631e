--[[
  Politeness for a host of a crawl, across all workers: requests to one host
  are sent at least ARGV[2] ms apart. Two calls:
  - reserve (ARGV[3] = ''): the next free slot is the caller's; returns how
    long to wait for it (0 = go now, and the send is recorded). A delayed job
    keeps its slot and does not reserve again.
  - send (ARGV[3] = the slot the caller holds, woken for it): a job that woke
    late left a shorter gap before the next slot, so the gap is kept from the
    last request actually sent: wait while it is younger than the gap, else
    record this send (and move the next free slot past it) and go.
  Fields of the hosts hash: <host> = next free slot, <host>|sent = last send (epoch ms).
  Only while the crawl runs: after the terminal state nothing writes the
  crawl's keys (their TTL is set).
  KEYS: meta, hosts
  ARGV[1] host   ARGV[2] least gap in ms   ARGV[3] held slot ('' to reserve)
  Returns {'missing'} | {'finished', status} | {'slot', wait ms, slot epoch ms}
]]
--@keys meta hosts
--@include includes/crawl.lua

local meta = loadMeta()
if not meta then return {'missing'} end
if meta.status ~= 'running' then return {'finished', meta.status} end
local now = nowMs()
local host, gap = ARGV[1], tonumber(ARGV[2])
local sentField = host .. '|sent'
local next = tonumber(redis.call('HGET', hostsKey, host) or '0')
local sent = tonumber(redis.call('HGET', hostsKey, sentField) or '0')
if ARGV[3] ~= '' then
  local held = tonumber(ARGV[3])
  if now < sent + gap then return { 'slot', sent + gap - now, held } end
  redis.call('HSET', hostsKey, sentField, now, host, math.max(next, now + gap))
  return { 'slot', 0, held }
end
local slot = math.max(now, next, sent + gap)
redis.call('HSET', hostsKey, host, slot + gap)
if slot == now then redis.call('HSET', hostsKey, sentField, now) end
return { 'slot', slot - now, slot }
