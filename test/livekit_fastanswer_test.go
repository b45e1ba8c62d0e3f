package test

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/loadgen"
)

// TestLiveKitAnswersBeforeJoin: with backend livekit, a phone dialling a
// room is answered without waiting for its LiveKit join. livekit-server is
// stopped (SIGSTOP: it holds its sockets and answers nothing) after the
// gateway saw it healthy, so the phone's join cannot end before
// livekit.connect_timeout; the phone gets its 200 OK and the gateway's
// silence all the same, and when the join fails the gateway hangs up with
// a BYE and counts the failure.
func TestLiveKitAnswersBeforeJoin(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	// The health check runs at start only (a check meanwhile would see the
	// stopped server and refuse the call with 503 before it is answered).
	lk, srv := lkgwStart(t, "livekit: {connect_timeout: 3s, health_interval: 10m}")
	if err := lk.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = lk.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)

	phone := lkgwPhone(t, srv, "demo", 440, 20*time.Second)
	rep := phone.wait(t, 30*time.Second) // fails the test unless answered
	if !rep.RemoteHangup {
		t.Errorf("the phone was not hung up by the gateway after its join failed: %+v", rep)
	}
	if rep.PacketsReceived == 0 {
		t.Errorf("the phone heard nothing (no RTP) while its join ran")
	}
	t.Logf("answered in %v with livekit-server stopped; hung up after %d packets of silence", rep.SetupTime, rep.PacketsReceived)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := loadgen.Scrape(ctx, http.DefaultClient, srv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Value("roombridge_room_join_failures_total"); v != 1 {
		t.Errorf("roombridge_room_join_failures_total = %v, want 1", v)
	}
	if v, _ := m.Value("roombridge_calls_total"); v != 1 {
		t.Errorf("roombridge_calls_total = %v, want 1 (the answered call)", v)
	}
}
