package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
)

// Long, unusual PINs and numbers, so that finding them in the logs cannot
// be a coincidence of some SSRC or port.
const (
	logPIN      = "7391462850"
	logHostPIN  = "8642139075"
	logWrongPIN = "5820371946"
	logCaller   = "+14045550187"
	logCaller2  = "+14045550199"
)

// TestLogsHideCallersAndPINs: calls the usual ways — straight into the
// room, through the IVR with a wrong PIN then the right one (RFC 4733),
// the host PIN by SIP INFO, and web joins with a wrong, a right and a
// host PIN — leave debug logs in which callers' numbers appear only
// masked (sip.caller_mask) and no PIN appears at all.
func TestLogsHideCallersAndPINs(t *testing.T) {
	srv := startSIPGateway(t, `rooms: [ { name: demo, pin: "`+logPIN+`", host_pin: "`+logHostPIN+`", aliases: ["4711"] } ]`)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	direct := sipStartCaller(t, caller.Options{Target: "sip:demo@" + srv.SIPAddr, From: logCaller, Tone: 440, Duration: 2 * time.Second})
	ivr := sipStartCaller(t, caller.Options{
		Target: "sip:+15550100@" + srv.SIPAddr, From: logCaller, Duration: 9 * time.Second,
		DTMF: logWrongPIN + "#" + logPIN + "#", DTMFVia: caller.DTMFRFC4733, DTMFDelay: 2 * time.Second,
		PortMin: 34000, PortMax: 34999,
	})
	info := sipStartCaller(t, caller.Options{
		Target: "sip:+15550100@" + srv.SIPAddr, From: logCaller2, Duration: 7 * time.Second,
		DTMF: logHostPIN + "#", DTMFVia: caller.DTMFInfo, DTMFDelay: 2 * time.Second,
		PortMin: 35000, PortMax: 35999,
	})
	for _, tc := range []struct{ pin, want string }{{logWrongPIN, "error"}, {logPIN, "joined"}, {logHostPIN, "joined"}} {
		if got, _ := webJoin(t, srv, webJoinReq{Room: "demo", Name: "web", PIN: tc.pin}); got != tc.want {
			t.Errorf("web join with PIN %s…: %q, want %q", tc.pin[:2], got, tc.want)
		}
	}
	direct.wait(t, 30*time.Second)
	ivr.wait(t, 30*time.Second)
	info.wait(t, 30*time.Second)
	if got := scrape(ctx, t, srv, `roombridge_ivr_pin_checks_total{result="accepted"}`); got != "2" {
		t.Errorf("ivr_pin_checks_total{accepted} = %q, want 2: the PINs did not reach the IVR", got)
	}

	logs := srv.Logs()
	if !strings.Contains(logs, "+1404***0187") {
		t.Error("the logs never show the caller, even masked: the test checks nothing")
	}
	for _, secret := range []string{logPIN, logHostPIN, logWrongPIN, strings.TrimPrefix(logCaller, "+"), strings.TrimPrefix(logCaller2, "+"), "4045550"} {
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, secret) {
				t.Errorf("the logs show %q:\n%s", secret, l)
			}
		}
	}
}
