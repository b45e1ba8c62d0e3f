// Package lockout counts failed attempts to get into a room (wrong PINs on
// the phone or in the web client, wrong SIP digest credentials) per key —
// a source address, a caller number — and locks a key out once it has too
// many within a window. One Table is shared by every path, so that
// guessing on one counts on all of them. It keeps no secret, only counts.
package lockout

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Defaults of the lockout (ivr.max_failures, ivr.failure_window,
// ivr.lockout).
const (
	DefaultMaxFailures = 10
	DefaultWindow      = 10 * time.Minute
	DefaultLock        = 15 * time.Minute
	// maxKeys bounds the table: beyond it, keys with nothing recent are
	// dropped (at most once a second), so that callers inventing From
	// numbers cannot grow it without end.
	maxKeys = 100000
	// sharedTimeout bounds one round trip to the shared store; a call
	// waits for it before it is routed.
	sharedTimeout = 2 * time.Second
)

// Shared is a failure count kept for several gateway nodes together (the
// Redis store's RedisLockouts), so that guessing spread over nodes is locked
// out after the same count as on one. Its policy (count, window, lock) is
// its own and should match the Table's.
type Shared interface {
	// Locked reports whether any of keys is locked out now, and which.
	Locked(ctx context.Context, keys []string) (key string, locked bool, err error)
	// Fail records one failure against each of keys and reports whether
	// that locked any of them out.
	Fail(ctx context.Context, keys []string) (lockedNow bool, err error)
}

// Config sets the limits; zero fields take the defaults.
type Config struct {
	// MaxFailures failures of one key within Window lock it for Lock.
	MaxFailures int
	Window      time.Duration
	Lock        time.Duration
	// Shared, when set, counts for every node; the Table then only stands
	// in while the shared store fails, so that an outage weakens the
	// lockout to one node's count instead of switching it off.
	Shared Shared
	// Logger reports a failing shared store; nil logs nothing.
	Logger *slog.Logger
}

// Table is the failure count of every key. Its methods are safe for
// concurrent use.
type Table struct {
	max    int
	window time.Duration
	lock   time.Duration
	now    func() time.Time
	shared Shared
	log    *slog.Logger

	mu     sync.Mutex
	keys   map[string]*failures
	pruned time.Time
}

type failures struct {
	at    []time.Time // failures within the window, oldest first
	until time.Time   // locked until then
}

// New makes an empty table.
func New(cfg Config) *Table {
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Lock <= 0 {
		cfg.Lock = DefaultLock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Table{
		max: cfg.MaxFailures, window: cfg.Window, lock: cfg.Lock, now: time.Now,
		shared: cfg.Shared, log: cfg.Logger, keys: map[string]*failures{},
	}
}

// SourceKey is the key of a source address: "ip:192.0.2.7", or for IPv6
// its /64 ("ip:2001:db8:1:2::/64"), the block one subscriber holds, so
// that hopping between its addresses does not reset the count.
func SourceKey(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + addr.String()
}

// Locked reports whether any of keys is locked out now, and which.
func (t *Table) Locked(keys ...string) (string, bool) {
	if t.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		key, locked, err := t.shared.Locked(ctx, keys)
		cancel()
		if err == nil {
			return key, locked
		}
		t.log.Warn("shared lockout unavailable: counting on this node", "err", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys {
		if f := t.keys[k]; f != nil && now.Before(f.until) {
			return k, true
		}
	}
	return "", false
}

// Fail records one failure against each of keys and reports whether that
// locked any of them out.
func (t *Table) Fail(keys ...string) bool {
	if t.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		lockedNow, err := t.shared.Fail(ctx, keys)
		cancel()
		if err == nil {
			return lockedNow
		}
		t.log.Warn("shared lockout unavailable: counting on this node", "err", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.keys) >= maxKeys && now.Sub(t.pruned) >= time.Second {
		t.prune(now)
	}
	lockedNow := false
	for _, k := range keys {
		f := t.keys[k]
		if f == nil {
			f = &failures{}
			t.keys[k] = f
		}
		f.trim(now, t.window)
		f.at = append(f.at, now)
		if len(f.at) >= t.max {
			f.until = now.Add(t.lock)
			f.at = f.at[:0]
			lockedNow = true
		}
	}
	return lockedNow
}

// prune drops keys with no failure in the window and no lock running.
func (t *Table) prune(now time.Time) {
	t.pruned = now
	for k, f := range t.keys {
		f.trim(now, t.window)
		if len(f.at) == 0 && !now.Before(f.until) {
			delete(t.keys, k)
		}
	}
}

func (f *failures) trim(now time.Time, window time.Duration) {
	i := 0
	for i < len(f.at) && now.Sub(f.at[i]) >= window {
		i++
	}
	f.at = append(f.at[:0], f.at[i:]...)
}
