package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

func TestCallCommand(t *testing.T) {
	srv := uastest.Start(t, uastest.Config{})
	rec := filepath.Join(t.TempDir(), "heard.wav")
	var out, errOut bytes.Buffer
	code := run([]string{"call", srv.URI("room", "udp"), "--tone", "440", "--duration", "1500ms", "--record", rec}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	report := out.String()
	t.Log("\n" + report)
	for _, want := range []string{"answered in", "dominant 440 Hz", "packets:", "MOS"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if w, err := caller.LoadWAV(rec); err != nil || w.Rate != 8000 || len(w.Samples) == 0 {
		t.Errorf("recording: %v", err)
	}
}

func TestCallCommandJSON(t *testing.T) {
	srv := uastest.Start(t, uastest.Config{})
	var out, errOut bytes.Buffer
	code := run([]string{"call", "--json", "--codec", "g722", "--transport", "tcp", "--duration", "1s", srv.URI("room", "tcp")}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	var r struct {
		Answered bool      `json:"answered"`
		Status   int       `json:"status"`
		Codec    string    `json:"codec"`
		Peaks    []float64 `json:"peaks_hz"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if !r.Answered || r.Status != 200 || r.Codec != "g722" || len(r.Peaks) == 0 || r.Peaks[0] < 435 || r.Peaks[0] > 445 {
		t.Errorf("report %+v", r)
	}
}

func TestCallCommandBusy(t *testing.T) {
	srv := uastest.Start(t, uastest.Config{Reject: 486})
	var out, errOut bytes.Buffer
	if code := run([]string{"call", srv.URI("room", "udp")}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), "486 Busy Here") {
		t.Errorf("output %q", out.String())
	}
}

// TestCallCommandRTPTimeout: --rtp-timeout hangs up on a far end that
// answered and went silent, and the report says why.
func TestCallCommandRTPTimeout(t *testing.T) {
	srv := uastest.Start(t, uastest.Config{Silent: true})
	var out, errOut bytes.Buffer
	code := run([]string{"call", srv.URI("room", "udp"), "--duration", "10s", "--rtp-timeout", "500ms", "--json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	var r struct {
		MediaTimeout bool    `json:"media_timeout"`
		DurationMS   float64 `json:"duration_ms"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if !r.MediaTimeout || r.DurationMS >= 10000 {
		t.Errorf("report %+v, want a hang-up on the silence", r)
	}
}

func TestCallCommandUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"call"}, &out, &errOut); code != 2 {
		t.Errorf("no URI: exit %d", code)
	}
	if code := run([]string{"call", "sip:a@127.0.0.1", "--codec", "opus"}, &out, &errOut); code != 2 {
		t.Errorf("bad codec: exit %d", code)
	}
}
