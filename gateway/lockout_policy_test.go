package gateway

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/roombridge/roombridge/gateway/lockout"
)

func TestLockoutKeysPerTrunkPolicy(t *testing.T) {
	src := netip.MustParseAddrPort("192.0.2.7:5060")
	for _, tc := range []struct {
		mode, from string
		want       []string
	}{
		{"", "+15551230100", []string{"ip:192.0.2.7", "from:+15551230100"}},
		{"both", "Alice", []string{"ip:192.0.2.7", "from:alice"}},
		// A carrier trunk: one caller's typos must not lock out the others.
		{"caller", "+15551230100", []string{"from:+15551230100"}},
		// ... but a caller without a number is still counted somewhere.
		{"caller", "", []string{"ip:192.0.2.7"}},
		{"caller", "anonymous", []string{"ip:192.0.2.7"}},
		{"source", "+15551230100", []string{"ip:192.0.2.7"}},
	} {
		if got := lockoutKeys(src, tc.from, tc.mode); !slices.Equal(got, tc.want) {
			t.Errorf("mode %q from %q: %v, want %v", tc.mode, tc.from, got, tc.want)
		}
	}

	// Two callers on one carrier trunk: the first one's failures lock only
	// the first one out.
	l := lockout.New(lockout.Config{MaxFailures: 3})
	a := lockoutKeys(src, "+15550000001", "caller")
	b := lockoutKeys(src, "+15550000002", "caller")
	for range 3 {
		l.Fail(a...)
	}
	if _, locked := l.Locked(a...); !locked {
		t.Error("the caller who failed three times is not locked out")
	}
	if key, locked := l.Locked(b...); locked {
		t.Errorf("another caller on the same trunk is locked out by %s", key)
	}
}
