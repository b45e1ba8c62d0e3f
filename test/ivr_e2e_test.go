package test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestIVRE2ECallPIN: `roombridge call --dtmf 1234#` dials the dial-in
// number of the real gateway, keys room demo's PIN through the IVR and ends
// up in demo: the API lists it, it hears the caller already there (1000
// Hz) and that caller hears it (440 Hz).
func TestIVRE2ECallPIN(t *testing.T) {
	srv := startSIPGateway(t, "dialin: {numbers: [\"5000\"]}\nivr: {join_tones: false}")
	partner := sipStartCaller(t, caller.Options{
		Target:    "sip:demo@" + srv.SIPAddr,
		Transport: uac.TransportUDP,
		Tone:      1000,
		Duration:  16 * time.Second,
	})
	sipWaitRoom(t, srv, "demo", 10*time.Second, partner.done, "the partner joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })

	rec := filepath.Join(t.TempDir(), "heard.wav")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), "call", "sip:5000@"+srv.SIPAddr,
		"--tone", "440", "--dtmf", "1234#", "--dtmf-delay", "500ms", "--duration", "9s",
		"--local-ip", "127.0.0.1", "--record", rec, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	_, joined := sipWaitRoom(t, srv, "demo", 15*time.Second, done, "the IVR caller joins demo",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
	<-done
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("roombridge call: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	var rep struct {
		Answered bool   `json:"answered"`
		DTMFSent string `json:"dtmf_sent"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	if !rep.Answered || rep.DTMFSent != "1234#" || !joined {
		t.Fatalf("answered %v, DTMF sent %q, joined %v", rep.Answered, rep.DTMFSent, joined)
	}
	wav, err := caller.LoadWAV(rec)
	if err != nil {
		t.Fatal(err)
	}
	tones := []float64{440, 1000}
	if n := sipToneWindows(wav.Samples, 1000, tones); n < 10 {
		t.Errorf("the IVR caller heard the partner's 1000 Hz in %d windows of 200 ms: %s", n, sipDescribe(wav.Samples))
	}
	p := partner.wait(t, 20*time.Second)
	if n := sipToneWindows(p.Heard, 440, tones); n < 10 {
		t.Errorf("the partner heard the IVR caller's 440 Hz in %d windows of 200 ms: %s", n, sipDescribe(p.Heard))
	}
}
