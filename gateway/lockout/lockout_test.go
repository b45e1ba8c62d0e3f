package lockout

import (
	"net/netip"
	"testing"
	"time"
)

func TestLockAfterMaxFailures(t *testing.T) {
	now := time.Unix(1000, 0)
	tb := New(Config{MaxFailures: 3, Window: time.Minute, Lock: 5 * time.Minute})
	tb.now = func() time.Time { return now }
	key := SourceKey(netip.MustParseAddr("::ffff:192.0.2.7"))
	if key != "ip:192.0.2.7" {
		t.Fatalf("SourceKey = %q: a v4-mapped address must count as its IPv4 address", key)
	}
	if a, b := SourceKey(netip.MustParseAddr("2001:db8:1:2::5")), SourceKey(netip.MustParseAddr("2001:db8:1:2:ffff::9")); a != b {
		t.Errorf("two addresses of one /64 count apart: %s, %s", a, b)
	}
	for i := range 2 {
		if tb.Fail(key) {
			t.Fatalf("locked after failure %d of 3", i+1)
		}
	}
	if _, locked := tb.Locked(key); locked {
		t.Fatal("locked after two failures")
	}
	if !tb.Fail(key) {
		t.Fatal("third failure did not lock")
	}
	if k, locked := tb.Locked("from:+15550000001", key); !locked || k != key {
		t.Fatalf("Locked = %q %v", k, locked)
	}
	now = now.Add(5*time.Minute + time.Second)
	if _, locked := tb.Locked(key); locked {
		t.Error("still locked after the lock time")
	}
}

func TestFailuresOutsideTheWindowDoNotCount(t *testing.T) {
	now := time.Unix(1000, 0)
	tb := New(Config{MaxFailures: 2, Window: time.Minute})
	tb.now = func() time.Time { return now }
	tb.Fail("k")
	now = now.Add(2 * time.Minute)
	if tb.Fail("k") {
		t.Error("a failure two windows ago still counted")
	}
}

func TestPruneKeepsLockedKeys(t *testing.T) {
	now := time.Unix(1000, 0)
	tb := New(Config{MaxFailures: 1, Window: time.Minute, Lock: time.Hour})
	tb.now = func() time.Time { return now }
	tb.Fail("locked")
	tb.max = 100
	tb.Fail("stale")
	now = now.Add(2 * time.Minute)
	tb.prune(now)
	if _, ok := tb.keys["stale"]; ok {
		t.Error("a key with nothing in the window survived the prune")
	}
	if _, locked := tb.Locked("locked"); !locked {
		t.Error("prune dropped a running lock")
	}
}
