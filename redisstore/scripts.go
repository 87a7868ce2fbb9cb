package redisstore

import "github.com/redis/go-redis/v9"

// The token is a hash: "tok" holds the wire-format token, "rev" its revision.
// A separate rev field lets the scripts fence without parsing JSON.

// leaseScript takes the lease (or extends the one this Store still holds)
// and reads the stored token in the same step, so that what the caller loads
// is exactly what was stored when it got the lease.
//
//	KEYS: lease, token   ARGV: new owner, ttl ms, owner held before ("" = none)
//	→ {acquired (0|1), owner now held ("" = none), stored token or nil}
var leaseScript = redis.NewScript(`
local owner = ARGV[1]
local held = ARGV[3]
local acquired = 0
if held ~= '' and redis.call('GET', KEYS[1]) == held then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  owner = held
  acquired = 1
elseif redis.call('SET', KEYS[1], owner, 'NX', 'PX', ARGV[2]) then
  acquired = 1
end
if acquired == 0 then owner = '' end
return {acquired, owner, redis.call('HGET', KEYS[2], 'tok')}
`)

// commitScript stores the token if the caller owns the lease, or if nobody
// does and the stored revision is still the one the caller loaded; then it
// deletes the lease and publishes the new revision.
//
//	KEYS: lease, token, notice   ARGV: owner ("" = none), base rev, token, rev
//	→ {1} or {0, stored token or nil}
var commitScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
local ok = false
if holder then
  ok = (ARGV[1] ~= '' and holder == ARGV[1])
else
  local cur = tonumber(redis.call('HGET', KEYS[2], 'rev') or '0')
  ok = (cur == tonumber(ARGV[2]))
end
if not ok then
  return {0, redis.call('HGET', KEYS[2], 'tok')}
end
redis.call('HSET', KEYS[2], 'tok', ARGV[3], 'rev', ARGV[4])
if holder then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', KEYS[3], 'commit ' .. ARGV[4])
return {1}
`)

// releaseScript deletes the lease only if the caller still owns it, and
// tells the followers that they may take it.
//
//	KEYS: lease, notice   ARGV: owner   → 1 released, 0 not ours (expired or taken)
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], 'release')
  return 1
end
return 0
`)
