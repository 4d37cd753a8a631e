--[[
  Events after a cursor, or word that they are lost: a cursor whose own entry
  was trimmed may have lost its successors, so it is refused rather than
  answered with a silent gap. Check and read are one atomic step.
  KEYS: meta, events
  ARGV[1] cursor ('0' or an event id handed out before)   ARGV[2] COUNT
  Returns {'lost'} | {'ok', id1, type1, data1, id2, ...}
]]
--@keys meta events
--@include includes/crawl.lua

local cursor = ARGV[1]
if cursor == '0' then
  local first = redis.call('XRANGE', eventsKey, '-', '+', 'COUNT', 1)
  if first[1] and first[1][1] ~= redis.call('HGET', metaKey, 'firstId') then return {'lost'} end
elseif #redis.call('XRANGE', eventsKey, cursor, cursor) == 0 then
  return {'lost'}
end
local entries = redis.call('XRANGE', eventsKey, '(' .. cursor, '+', 'COUNT', tonumber(ARGV[2]))
local out = { 'ok' }
for i = 1, #entries do
  local fields = entries[i][2]
  local kind, data
  for j = 1, #fields, 2 do
    if fields[j] == 't' then kind = fields[j + 1] elseif fields[j] == 'd' then data = fields[j + 1] end
  end
  out[#out + 1] = entries[i][1]
  out[#out + 1] = kind
  out[#out + 1] = data
end
return out
