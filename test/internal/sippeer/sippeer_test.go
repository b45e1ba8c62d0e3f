package sippeer

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestScenarioSelfCheck runs each scenario of test/sipp against a mirror
// UAS in testdata (sipp as the gateway), so that a broken scenario shows up
// without a gateway, and checks that the scenarios' regexp checks fail on
// a wrong answer.
func TestScenarioSelfCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sipp pairs; skipped with -short")
	}
	harness.RequireTool(t, "sipp")
	for _, tc := range []struct {
		scenario, uas string
		ok            bool
	}{
		{"call_speech.xml", "uas_call.xml", true},
		{"delayed_offer.xml", "uas_call.xml", true},
		{"hold_resume.xml", "uas_hold.xml", true},
		{"hold_resume.xml", "uas_hold_sendrecv.xml", false},
		{"session_timer.xml", "uas_timer.xml", true},
		{"session_timer.xml", "uas_call.xml", false},
		{"session_timer_422.xml", "uas_422.xml", true},
		{"unknown_room.xml", "uas_404.xml", true},
		{"no_common_codec.xml", "uas_488.xml", true},
		{"no_common_codec.xml", "uas_404.xml", false},
		{"pin_ivr.xml", "uas_call.xml", true},
		{"call_star6.xml", "uas_call.xml", true},
		{"rtp_timeout.xml", "uas_bye.xml", true},
		{"hold_media.xml", "uas_hold.xml", true},
		{"short_call.xml", "uas_call.xml", true},
		{"short_call.xml", "uas_404.xml", false},
	} {
		t.Run(tc.scenario+"/"+tc.uas, func(t *testing.T) {
			t.Parallel()
			remote := startUAS(t, tc.uas)
			p := Start(t, Options{
				Scenario: tc.scenario,
				Remote:   remote,
				Service:  "demo",
				Domain:   "conf.example.com",
				Pause:    300 * time.Millisecond,
				Timeout:  20 * time.Second,
				Args:     []string{"-recv_timeout", "3000", "-key", "rtp_port", "9"},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code, err := p.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if (code == ExitOK) != tc.ok {
				t.Fatalf("exit %d (%s); want success %v", code, ExitReason(code), tc.ok)
			}
		})
	}
}

// startUAS runs sipp with a mirror scenario from testdata as the server
// side of one call and returns its address.
func startUAS(t *testing.T, scenario string) string {
	t.Helper()
	port, err := freeDualPort()
	if err != nil {
		t.Fatal(err)
	}
	media, err := freeMediaPort()
	if err != nil {
		t.Fatal(err)
	}
	sf, err := filepath.Abs(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sipp", "-sf", sf, "-i", "127.0.0.1", "-mi", "127.0.0.1",
		"-p", strconv.Itoa(port), "-mp", strconv.Itoa(media), "-m", "1", "-nostdin", "-timeout", "25s")
	var out buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		kill(cmd)
		<-done
		if t.Failed() {
			t.Logf("mirror UAS %s:\n%s", scenario, tail(out.String(), 4000))
		}
	})
	// The UAC retransmits its INVITE every 500 ms, so a UAS that binds a
	// little late still gets the call.
	return "127.0.0.1:" + strconv.Itoa(port)
}

func TestParseMessages(t *testing.T) {
	log := "----------------------------------------------- 2026-11-21 21:25:48.196334\n" +
		"UDP message sent (669 bytes):\n\nINVITE sip:demo@x SIP/2.0\nVia: SIP/2.0/UDP a\nCSeq: 1 INVITE\n\n" +
		"----------------------------------------------- 2026-11-21 21:25:48.296334\n" +
		"UDP message received [324] bytes :\n\nSIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\nv=0\n"
	msgs := parseMessages(log)
	if len(msgs) != 2 {
		t.Fatalf("%d messages: %+v", len(msgs), msgs)
	}
	inv, ok := Find(msgs, true, "INVITE", "1 INVITE")
	if !ok {
		t.Fatalf("no INVITE in %+v", msgs)
	}
	ok200, ok := Find(msgs, false, "SIP/2.0 200", "1 INVITE")
	if !ok {
		t.Fatalf("no 200 in %+v", msgs)
	}
	if d := ok200.Time.Sub(inv.Time); d != 100*time.Millisecond {
		t.Fatalf("200 came %v after the INVITE, want 100ms", d)
	}
}
