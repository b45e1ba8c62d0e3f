package lockout

import (
	"context"
	"errors"
	"testing"

	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/gateway/store/storetest"
)

// tableLockouts is a Table seen through store.Lockouts, so that the
// conformance suite the Redis lockouts pass runs against it too.
type tableLockouts struct{ t *Table }

func (m tableLockouts) Locked(_ context.Context, keys []string) (string, bool, error) {
	k, locked := m.t.Locked(keys...)
	return k, locked, nil
}

func (m tableLockouts) Fail(_ context.Context, keys []string) (bool, error) {
	return m.t.Fail(keys...), nil
}

func TestTableConformance(t *testing.T) {
	storetest.RunLockouts(t, func(_ *testing.T, p store.LockoutPolicy) store.Lockouts {
		return tableLockouts{New(Config{MaxFailures: p.MaxFailures, Window: p.Window, Lock: p.Lockout})}
	})
}

// The Redis store's lockouts are a Shared.
var _ Shared = (*store.RedisLockouts)(nil)

// brokenShared is a shared store that always fails.
type brokenShared struct{ calls int }

var errDown = errors.New("redis down")

func (b *brokenShared) Locked(context.Context, []string) (string, bool, error) {
	b.calls++
	return "", false, errDown
}

func (b *brokenShared) Fail(context.Context, []string) (bool, error) {
	b.calls++
	return false, errDown
}

// While the shared store fails, this node still counts (and locks out) on
// its own rather than not at all.
func TestSharedDownCountsLocally(t *testing.T) {
	shared := &brokenShared{}
	tb := New(Config{MaxFailures: 2, Shared: shared})
	key := "ip:192.0.2.9"
	if tb.Fail(key) {
		t.Fatal("locked after one failure")
	}
	if !tb.Fail(key) {
		t.Fatal("not locked after two failures with the shared store down")
	}
	if _, locked := tb.Locked(key); !locked {
		t.Fatal("the local lock is not seen")
	}
	if shared.calls != 3 {
		t.Fatalf("shared store asked %d times, want 3 (it is tried every time)", shared.calls)
	}
}

// A working shared store decides: a failure counted on another node (here
// straight in the shared store) locks this node's caller out too.
func TestSharedDecides(t *testing.T) {
	other := New(Config{MaxFailures: 2})
	tb := New(Config{MaxFailures: 2, Shared: tableLockouts{other}})
	other.Fail("ip:192.0.2.9")
	if !tb.Fail("ip:192.0.2.9") {
		t.Fatal("the second failure, on another node, did not lock")
	}
	if _, locked := tb.Locked("ip:192.0.2.9"); !locked {
		t.Fatal("not locked on this node")
	}
}
