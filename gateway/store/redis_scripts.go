package store

import "github.com/redis/go-redis/v9"

// luaPrelude is shared by the write scripts: ARGV[1] is the key prefix and
// ARGV[2] the room's name; the helpers remove an identifier only while it
// still belongs to that room.
const luaPrelude = `
local p, name = ARGV[1], ARGV[2]
local function owner_of(v)
  local r = redis.call('GET', p .. 'user:' .. v)
  if r then return r end
  return nil
end
local function pin_owner(d)
  local v = redis.call('HGET', p .. 'pins', d)
  if v then return string.sub(v, 1, -3) end
  return nil
end
local function del_user(u)
  if u and u ~= '' and owner_of(u) == name then redis.call('DEL', p .. 'user:' .. u) end
end
local function del_pin(d)
  if d and d ~= '' and pin_owner(d) == name then redis.call('HDEL', p .. 'pins', d) end
end
local function del_identifiers(rkey)
  local f = redis.call('HMGET', rkey, 'numeric_id', 'aliases', 'pin_digest', 'host_pin_digest')
  del_user(name)
  del_user(f[1])
  if f[2] then
    for _, a in ipairs(cjson.decode(f[2])) do del_user(a) end
  end
  del_pin(f[3])
  del_pin(f[4])
end
`

// saveScript creates, updates or upserts a room (ARGV[3] is the mode) with
// every cross-room rule of the store checked first, in the order the
// SQLite store checks them, so that both report the same field.
//
// ARGV: 1 prefix, 2 name, 3 mode, 4 pin, 5 host_pin, 6 numeric_id ("" =
// keep or generate), 7 wait_for_host, 8 pin_on_direct_dial, 9 now (unix
// ns), 10 aliases (JSON list), 11 SHA-256 of pin, 12 of host_pin ("" when
// none), 13… candidate numeric ids.
//
// It returns {"ok", numeric_id, created_at}, {"conflict", field, value,
// other room}, {"invalid", field, value}, {"notfound"} or {"full"}.
var saveScript = redis.NewScript(luaPrelude + `
local mode, pin, host_pin, nid = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local aliases = cjson.decode(ARGV[10])
local pind, hpind = ARGV[11], ARGV[12]
local rkey = p .. 'room:' .. name
local exists = redis.call('EXISTS', rkey) == 1
if mode == 'create' and exists then return {'conflict', 'name', name, ''} end
if mode == 'update' and not exists then return {'notfound'} end
local created = ARGV[9]
if exists then
  local f = redis.call('HMGET', rkey, 'created_at', 'numeric_id')
  created = f[1]
  if nid == '' then
    nid = f[2]
    for _, a in ipairs(aliases) do
      if a == nid then return {'invalid', 'aliases', a} end
    end
  end
end

local function check(field, value, other)
  if other and other ~= name then return {'conflict', field, value, other} end
  return nil
end
local r = check('name', name, owner_of(name))
if r then return r end
if pind ~= '' then
  r = check('pin', pin, pin_owner(pind))
  if r then return r end
end
if hpind ~= '' then
  r = check('host_pin', host_pin, pin_owner(hpind))
  if r then return r end
end
for _, a in ipairs(aliases) do
  r = check('aliases', a, owner_of(a))
  if r then return r end
end
if nid ~= '' then
  r = check('numeric_id', nid, owner_of(nid))
  if r then return r end
else
  for i = 13, #ARGV do
    local c, own = ARGV[i], ARGV[i] == name
    for _, a in ipairs(aliases) do
      if a == c then own = true end
    end
    if not own and redis.call('EXISTS', p .. 'user:' .. c) == 0 then
      nid = c
      break
    end
  end
  if nid == '' then return {'full'} end
end

if exists then del_identifiers(rkey) end
redis.call('DEL', rkey)
redis.call('HSET', rkey, 'name', name, 'pin', pin, 'host_pin', host_pin, 'numeric_id', nid,
  'wait_for_host', ARGV[7], 'pin_on_direct_dial', ARGV[8], 'created_at', created,
  'updated_at', ARGV[9], 'aliases', ARGV[10], 'pin_digest', pind, 'host_pin_digest', hpind)
redis.call('SADD', p .. 'rooms', name)
redis.call('SET', p .. 'user:' .. name, name)
redis.call('SET', p .. 'user:' .. nid, name)
for _, a in ipairs(aliases) do redis.call('SET', p .. 'user:' .. a, name) end
if pind ~= '' then redis.call('HSET', p .. 'pins', pind, name .. ':0') end
if hpind ~= '' then redis.call('HSET', p .. 'pins', hpind, name .. ':1') end
return {'ok', nid, created}
`)

// deleteScript removes a room and frees its identifiers; it returns 0 when
// there was no such room. ARGV: 1 prefix, 2 name.
var deleteScript = redis.NewScript(luaPrelude + `
local rkey = p .. 'room:' .. name
if redis.call('EXISTS', rkey) == 0 then return 0 end
del_identifiers(rkey)
redis.call('SREM', p .. 'rooms', name)
redis.call('DEL', rkey)
return 1
`)
