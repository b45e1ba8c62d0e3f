package store

import (
	"context"
	"time"
)

// Lockouts counts failures (wrong PINs, failed digests) per key, such as
// "ip:192.0.2.7" or "from:+15550100", and locks a key out once it has
// MaxFailures within Window. The gateway keeps its own table in memory; a
// Lockouts kept in Redis makes every node count the same failures, so a
// brute force spread over several nodes is stopped after the same number
// of tries as on one.
type Lockouts interface {
	// Locked reports whether any of keys is locked out now, and which.
	Locked(ctx context.Context, keys []string) (key string, locked bool, err error)
	// Fail records one failure against each of keys and reports whether
	// that locked any of them out.
	Fail(ctx context.Context, keys []string) (lockedNow bool, err error)
}

// LockoutPolicy is how many failures within which window lock a key out,
// and for how long (ivr.max_failures, ivr.failure_window, ivr.lockout).
type LockoutPolicy struct {
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
}
