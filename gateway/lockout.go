package gateway

import (
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/store"
)

// Defaults of the PIN brute-force lockout (ivr.max_failures,
// ivr.failure_window, ivr.lockout).
const (
	defaultMaxFailures   = 10
	defaultFailureWindow = 10 * time.Minute
	defaultLockout       = 15 * time.Minute
	// maxLockoutKeys bounds the table: beyond it, entries with nothing
	// recent are dropped first, so that callers inventing From numbers
	// cannot grow it without end.
	maxLockoutKeys = 100000
)

// lockout counts wrong PINs per source IP address and per caller number.
// A key with MaxFailures failures within the window is locked for the
// lockout time: its INVITEs are refused with 403 and a call in the IVR
// that reaches the limit is ended. It keeps no PIN, only counts.
type lockout struct {
	max    int
	window time.Duration
	lock   time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*failures

	// shared, when set, counts for every node (Redis); this table then
	// only stands in while the shared one fails (lockshared.go).
	shared store.Lockouts
	log    *slog.Logger
}

type failures struct {
	at    []time.Time // failures within the window, oldest first
	until time.Time   // locked until then
}

func newLockout(max int, window, lock time.Duration) *lockout {
	if max <= 0 {
		max = defaultMaxFailures
	}
	if window <= 0 {
		window = defaultFailureWindow
	}
	if lock <= 0 {
		lock = defaultLockout
	}
	return &lockout{max: max, window: window, lock: lock, now: time.Now, keys: map[string]*failures{}}
}

// lockoutKeys are the keys a call's failures count against: its source
// address and its caller number (the From user), when it has one. A
// carrier trunk sends every caller from the same few addresses, so counting
// by source there would let a handful of mistyped PINs lock out every
// dial-in caller: its trunk sets mode "caller" (count the caller number
// only; anonymous callers are still counted by source). "source" counts
// the address only, for trunks whose From is not to be trusted.
func lockoutKeys(src netip.AddrPort, fromUser, mode string) []string {
	keys := make([]string, 0, 2)
	u := strings.ToLower(strings.TrimSpace(fromUser))
	if u == "anonymous" {
		u = ""
	}
	bySource := mode != "caller" || u == ""
	if src.IsValid() && bySource {
		keys = append(keys, "ip:"+src.Addr().Unmap().String())
	}
	if u != "" && mode != "source" {
		keys = append(keys, "from:"+u)
	}
	return keys
}

// locked reports whether any of keys is locked out now, and which.
func (l *lockout) locked(keys []string) (string, bool) {
	if key, locked, ok := l.sharedLocked(keys); ok {
		return key, locked
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		if f := l.keys[k]; f != nil && now.Before(f.until) {
			return k, true
		}
	}
	return "", false
}

// fail records one wrong PIN against each of keys and reports whether
// that locked any of them out.
func (l *lockout) fail(keys []string) bool {
	if lockedNow, ok := l.sharedFail(keys); ok {
		return lockedNow
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.keys) >= maxLockoutKeys {
		l.prune(now)
	}
	lockedNow := false
	for _, k := range keys {
		f := l.keys[k]
		if f == nil {
			f = &failures{}
			l.keys[k] = f
		}
		f.trim(now, l.window)
		f.at = append(f.at, now)
		if len(f.at) >= l.max {
			f.until = now.Add(l.lock)
			f.at = f.at[:0]
			lockedNow = true
		}
	}
	return lockedNow
}

// prune drops keys with no failure in the window and no lock running.
func (l *lockout) prune(now time.Time) {
	for k, f := range l.keys {
		f.trim(now, l.window)
		if len(f.at) == 0 && !now.Before(f.until) {
			delete(l.keys, k)
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
