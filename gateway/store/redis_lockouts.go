package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// RedisLockouts is Lockouts shared by every node using the same Redis.
// Failures are a sorted set per key scored by Redis's own clock (so nodes'
// clocks need not agree), trimmed to the window on each failure; a lock is
// a key that expires when the lockout ends. Nothing needs cleaning up:
// every key carries a TTL.
type RedisLockouts struct {
	r      *Redis
	policy LockoutPolicy
}

var _ Lockouts = (*RedisLockouts)(nil)

// NewRedisLockouts keeps lockouts in r's Redis, under its key prefix.
func NewRedisLockouts(r *Redis, policy LockoutPolicy) (*RedisLockouts, error) {
	if policy.MaxFailures < 1 || policy.Window <= 0 || policy.Lockout <= 0 {
		return nil, fmt.Errorf("store: lockout policy needs positive values, got %+v", policy)
	}
	return &RedisLockouts{r: r, policy: policy}, nil
}

// lockedScript returns the first of ARGV[2:] that has a running lock, or
// false. ARGV[1] is the key prefix.
var lockedScript = redis.NewScript(`
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. 'lock:until:' .. ARGV[i]) == 1 then return ARGV[i] end
end
return false
`)

// failScript records a failure for each of ARGV[6:]; ARGV: 1 prefix, 2 max
// failures, 3 window (ms), 4 lockout (ms), 5 a nonce that makes this
// failure's set members unique. It returns 1 when a key got locked.
var failScript = redis.NewScript(`
local p, max, window, lock, nonce = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local locked = 0
for i = 6, #ARGV do
  local z = p .. 'lock:fail:' .. ARGV[i]
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now - window)
  redis.call('ZADD', z, now, nonce .. ':' .. i)
  if redis.call('ZCARD', z) >= max then
    redis.call('SET', p .. 'lock:until:' .. ARGV[i], '1', 'PX', lock)
    redis.call('DEL', z)
    locked = 1
  else
    redis.call('PEXPIRE', z, window)
  end
end
return locked
`)

// Locked implements Lockouts.
func (l *RedisLockouts) Locked(ctx context.Context, keys []string) (string, bool, error) {
	if len(keys) == 0 {
		return "", false, nil
	}
	if err := l.r.checkOpen(); err != nil {
		return "", false, err
	}
	args := make([]any, 0, len(keys)+1)
	args = append(args, l.r.prefix)
	for _, k := range keys {
		args = append(args, k)
	}
	k, err := lockedScript.Run(ctx, l.r.c, nil, args...).Text()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, l.r.redisErr("lockout check", err)
	}
	return k, true, nil
}

// Fail implements Lockouts.
func (l *RedisLockouts) Fail(ctx context.Context, keys []string) (bool, error) {
	if len(keys) == 0 {
		return false, nil
	}
	if err := l.r.checkOpen(); err != nil {
		return false, err
	}
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return false, fmt.Errorf("store: lockout nonce: %w", err)
	}
	args := make([]any, 0, len(keys)+5)
	args = append(args, l.r.prefix, l.policy.MaxFailures, l.policy.Window.Milliseconds(),
		l.policy.Lockout.Milliseconds(), hex.EncodeToString(nonce[:]))
	for _, k := range keys {
		args = append(args, k)
	}
	n, err := failScript.Run(ctx, l.r.c, nil, args...).Int()
	if err != nil {
		return false, l.r.redisErr("lockout failure", err)
	}
	return n == 1, nil
}
