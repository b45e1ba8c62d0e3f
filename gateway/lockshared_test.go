package gateway

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/gateway/store/storetest"
)

// memLockouts is the in-process table seen through store.Lockouts, so the
// same conformance suite that Redis passes runs against it.
type memLockouts struct{ l *lockout }

func (m memLockouts) Locked(_ context.Context, keys []string) (string, bool, error) {
	k, locked := m.l.locked(keys)
	return k, locked, nil
}

func (m memLockouts) Fail(_ context.Context, keys []string) (bool, error) {
	return m.l.fail(keys), nil
}

func TestLockoutsConformance(t *testing.T) {
	storetest.RunLockouts(t, func(_ *testing.T, p store.LockoutPolicy) store.Lockouts {
		return memLockouts{newLockout(p.MaxFailures, p.Window, p.Lockout)}
	})
}

// brokenLockouts is a shared store that always fails.
type brokenLockouts struct{ calls int }

var errDown = errors.New("redis down")

func (b *brokenLockouts) Locked(context.Context, []string) (string, bool, error) {
	b.calls++
	return "", false, errDown
}

func (b *brokenLockouts) Fail(context.Context, []string) (bool, error) {
	b.calls++
	return false, errDown
}

// TestLockoutSharedDown: while the shared store fails, this node still
// counts (and locks out) on its own rather than not at all.
func TestLockoutSharedDown(t *testing.T) {
	l := newLockout(2, 0, 0)
	shared := &brokenLockouts{}
	l.shared, l.log = shared, slog.New(slog.DiscardHandler)
	keys := []string{"ip:192.0.2.9"}
	if l.fail(keys) {
		t.Fatal("locked after one failure")
	}
	if !l.fail(keys) {
		t.Fatal("not locked after two failures with the shared store down")
	}
	if _, locked := l.locked(keys); !locked {
		t.Fatal("the local lock is not seen")
	}
	if shared.calls != 3 {
		t.Fatalf("shared store asked %d times, want 3 (it is tried every time)", shared.calls)
	}
}
