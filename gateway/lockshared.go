package gateway

import (
	"context"
	"time"
)

// sharedLockoutTimeout bounds one round trip to the shared lockout store;
// the call waits for it before it is routed.
const sharedLockoutTimeout = 2 * time.Second

// sharedLocked asks the shared lockout store, when there is one. ok is
// false without one, or when it failed: the caller then answers from this
// node's own table, so that a Redis outage weakens the lockout to one
// node's count instead of switching it off.
func (l *lockout) sharedLocked(keys []string) (key string, locked, ok bool) {
	if l.shared == nil {
		return "", false, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedLockoutTimeout)
	defer cancel()
	key, locked, err := l.shared.Locked(ctx, keys)
	if err != nil {
		l.log.Warn("shared PIN lockout unavailable: counting on this node", "err", err)
		return "", false, false
	}
	return key, locked, true
}

// sharedFail records a failure in the shared store, when there is one;
// ok is false as for sharedLocked, and the failure is then counted here.
func (l *lockout) sharedFail(keys []string) (lockedNow, ok bool) {
	if l.shared == nil {
		return false, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedLockoutTimeout)
	defer cancel()
	lockedNow, err := l.shared.Fail(ctx, keys)
	if err != nil {
		l.log.Warn("shared PIN lockout unavailable: counting on this node", "err", err)
		return false, false
	}
	return lockedNow, true
}
