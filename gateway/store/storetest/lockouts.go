package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/store"
)

// LockoutsFactory returns empty lockouts with policy p for one subtest.
type LockoutsFactory func(t *testing.T, p store.LockoutPolicy) store.Lockouts

// RunLockouts runs the conformance tests of store.Lockouts: the gateway's
// in-memory table and the Redis one must lock out after the same count,
// for the same time, per key.
func RunLockouts(t *testing.T, open LockoutsFactory) {
	t.Run("CountAndExpiry", func(t *testing.T) { testLockoutCount(t, open) })
	t.Run("Window", func(t *testing.T) { testLockoutWindow(t, open) })
}

func testLockoutCount(t *testing.T, open LockoutsFactory) {
	ctx := context.Background()
	const lockFor = 500 * time.Millisecond
	l := open(t, store.LockoutPolicy{MaxFailures: 3, Window: time.Minute, Lockout: lockFor})
	a, b := []string{"ip:192.0.2.1"}, []string{"from:+15550100"}
	for i := range 2 {
		if now, err := l.Fail(ctx, a); err != nil || now {
			t.Fatalf("failure %d locked=%v err=%v, want not locked yet", i+1, now, err)
		}
	}
	if k, locked, err := l.Locked(ctx, append(b, a...)); err != nil || locked {
		t.Fatalf("Locked after 2 of 3 = %q %v %v", k, locked, err)
	}
	// The third failure counts against both keys; only a reaches 3.
	if now, err := l.Fail(ctx, append(a, b...)); err != nil || !now {
		t.Fatalf("third failure locked=%v err=%v, want locked", now, err)
	}
	lockedAt := time.Now()
	if k, locked, err := l.Locked(ctx, append(b, a...)); err != nil || !locked || k != a[0] {
		t.Fatalf("Locked = %q %v %v, want %q", k, locked, err, a[0])
	}
	if k, locked, err := l.Locked(ctx, b); err != nil || locked {
		t.Fatalf("Locked(b) = %q %v %v after 1 failure", k, locked, err)
	}
	if k, locked, err := l.Locked(ctx, nil); err != nil || locked {
		t.Fatalf("Locked(nil) = %q %v %v", k, locked, err)
	}
	// The lock ends by itself, and the count starts again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, locked, err := l.Locked(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if !locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still locked %v after a %v lockout", time.Since(lockedAt), lockFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if time.Since(lockedAt) < lockFor-50*time.Millisecond {
		t.Errorf("lock ended after %v, want about %v", time.Since(lockedAt), lockFor)
	}
	if now, err := l.Fail(ctx, a); err != nil || now {
		t.Fatalf("first failure after the lockout locked=%v err=%v", now, err)
	}
}

// testLockoutWindow: failures older than the window no longer count. The
// sleep is the thing under test (the window passing), not a wait for
// something to happen.
func testLockoutWindow(t *testing.T, open LockoutsFactory) {
	ctx := context.Background()
	const window = 300 * time.Millisecond
	l := open(t, store.LockoutPolicy{MaxFailures: 2, Window: window, Lockout: time.Minute})
	k := []string{"ip:198.51.100.9"}
	if now, err := l.Fail(ctx, k); err != nil || now {
		t.Fatalf("first failure locked=%v err=%v", now, err)
	}
	time.Sleep(window + 100*time.Millisecond)
	if now, err := l.Fail(ctx, k); err != nil || now {
		t.Fatalf("a failure after the window locked=%v err=%v: the old one still counted", now, err)
	}
	if now, err := l.Fail(ctx, k); err != nil || !now {
		t.Fatalf("two failures within the window locked=%v err=%v, want locked", now, err)
	}
}
