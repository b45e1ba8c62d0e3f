package gateway

import (
	"net/netip"
	"testing"

	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/sip"
)

// TestCalloutStatus: the final response a click-to-call's caller gets
// for each way the callee's side can fail.
func TestCalloutStatus(t *testing.T) {
	for _, tc := range []struct {
		cause  string
		status int
		want   int
	}{
		{dialout.CauseBusy, 486, 486},
		{dialout.CauseBusy, 600, 600},
		{dialout.CauseDeclined, 603, 603},
		{dialout.CauseNotFound, 404, 404},
		{dialout.CauseRejected, 488, 488},
		{dialout.CauseRejected, 401, 503}, // the carrier refused our credentials
		{dialout.CauseRejected, 407, 503},
		{dialout.CauseNoAnswer, 487, 480}, // our CANCEL at the ring timeout
		{dialout.CauseNoAnswer, 0, 480},
		{dialout.CauseNoAnswer, 408, 408},
		{dialout.CauseNoAnswer, 480, 480},
		{dialout.CauseUnavailable, 503, 503},
		{dialout.CauseUnavailable, 0, 503},
		{dialout.CauseNoRoute, 0, 404},
		{dialout.CauseMediaFailed, 200, 503},
		{dialout.CauseShutdown, 0, 503},
	} {
		got, reason := calloutStatus(dialout.Info{Cause: tc.cause, Status: tc.status})
		if got != tc.want || reason == "" {
			t.Errorf("%s %d: %d %q, want %d", tc.cause, tc.status, got, reason, tc.want)
		}
	}
}

// TestMayCallOut: only callers with an account, or on a click_to_call
// trunk, may call out; a trunk named like the accounts' may not.
func TestMayCallOut(t *testing.T) {
	lan := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	for _, tc := range []struct {
		name  string
		trunk *sip.Trunk
		want  bool
	}{
		{"account", &sip.Trunk{Name: sip.UsersTrunkName, Username: "alice"}, true},
		{"click_to_call trunk", &sip.Trunk{Name: "pbx", Allow: lan, ClickToCall: true}, true},
		{"trusted trunk", &sip.Trunk{Name: "pbx", Allow: lan, Trusted: true}, false},
		{"configured trunk named users", &sip.Trunk{Name: sip.UsersTrunkName, Username: "x", Allow: lan}, false},
		{"no trunk", nil, false},
	} {
		if got := mayCallOut(tc.trunk); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
