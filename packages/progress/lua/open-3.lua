--[[
  What a stream reader needs to start, read in one atomic step: the crawl
  (meta and counters), the newest stored event id, and a verdict on the cursor.
  KEYS: meta, counters, events
  ARGV[1] cursor ('' for none, '0' for the first event, or an event id)
  Returns nil when the crawl does not exist, else
    {verdict, lastId, terminalId or '', metaFlat..., '|', discovered, processed, failed, skipped,
     then field, value pairs of the rejected counts ('rejected:<reason>', 'rejectedDropped')}
  verdict: 'snapshot' (no cursor) | 'replay' | 'ended' (cursor at or past the
  terminal event) | 'trimmed' | 'unknown'
]]
--@keys meta counters events
--@include includes/crawl.lua

if redis.call('EXISTS', metaKey) == 0 then return nil end
local last = redis.call('XREVRANGE', eventsKey, '+', '-', 'COUNT', 1)
local lastId = last[1] and last[1][1] or '0'
local terminalId = redis.call('HGET', metaKey, 'terminalId') or ''
local cursor = ARGV[1]
local verdict
if cursor == '' then
  verdict = 'snapshot'
elseif terminalId ~= '' and cursor ~= '0' and not idLess(cursor, terminalId) then
  verdict = 'ended'
elseif cursor == '0' then
  local first = redis.call('XRANGE', eventsKey, '-', '+', 'COUNT', 1)
  local firstId = redis.call('HGET', metaKey, 'firstId')
  verdict = (first[1] and first[1][1] == firstId) and 'replay' or 'trimmed'
elseif #redis.call('XRANGE', eventsKey, cursor, cursor) == 1 then
  verdict = 'replay'
else
  local first = redis.call('XRANGE', eventsKey, '-', '+', 'COUNT', 1)
  if first[1] and idLess(cursor, first[1][1]) then verdict = 'trimmed' else verdict = 'unknown' end
end
local out = { verdict, lastId, terminalId }
local meta = redis.call('HGETALL', metaKey)
for i = 1, #meta do out[#out + 1] = meta[i] end
out[#out + 1] = '|'
local c = readCounters()
out[#out + 1] = c.discovered
out[#out + 1] = c.processed
out[#out + 1] = c.failed
out[#out + 1] = c.skipped
local all = redis.call('HGETALL', countersKey)
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 8) == 'rejected' then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out
