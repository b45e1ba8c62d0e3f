package test

import (
	"context"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/loadgen"
)

// TestLoadSmall runs the load generator against the real gateway: 20 legs
// in rooms of 5, held 5 s, speaking (espeak-ng speech when espeak-ng and
// sox are installed, a tone otherwise), and a probe room. Every call must
// be answered, every caller must hear its room, the probe's listener must
// hear its tone, and the gateway's side of the report must be filled from
// /metrics.
func TestLoadSmall(t *testing.T) {
	srv := startSIPGateway(t)
	wav := loadSpeechWAV(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := loadgen.Config{
		Target: srv.SIPAddr, Legs: 20, RoomSize: 5, Rate: 20, Hold: 5 * time.Second,
		RoomPrefix: "loadtest-", WAV: wav, Probe: true,
		APIURL: srv.URL, APIKey: srv.APIKey,
		LocalIP: netip.MustParseAddr("127.0.0.1"), PortMin: 46000, PortMax: 46999,
	}
	if wav == nil {
		cfg.Tone = 700
	}
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	_ = rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())

	if rep.Attempted != 20 || rep.Answered != 20 || rep.Failed != 0 || rep.Dropped != 0 {
		t.Errorf("attempted/answered/failed/dropped = %d/%d/%d/%d, want 20/20/0/0 (%v)",
			rep.Attempted, rep.Answered, rep.Failed, rep.Dropped, rep.Failures)
	}
	if rep.Callers.AudioArrived != rep.Answered {
		t.Errorf("audio arrived for %d of %d callers (levels %+v)", rep.Callers.AudioArrived, rep.Answered, rep.Callers.HeardDBFS)
	}
	if rep.SetupMS.N != 20 || rep.SetupMS.P99 <= 0 {
		t.Errorf("setup times: %+v", rep.SetupMS)
	}
	g := rep.Gateway
	if !g.Scraped || g.Legs != 20 || g.CPUPercent <= 0 || g.Ticks <= 0 || g.TickMS.N == 0 || g.RTPReceived <= 0 || g.RTPSent <= 0 {
		t.Errorf("gateway side not filled: %+v", g)
	}
	if rep.GatewaySetupMS.N != 20 {
		t.Errorf("gateway INVITE→answer histogram counted %d calls, want 20", rep.GatewaySetupMS.N)
	}
	if rep.Callers.MOS.N != 20 || rep.Callers.MOS.Min <= 1 {
		t.Errorf("MOS: %+v", rep.Callers.MOS)
	}
	// A loose bound: the machine is shared; make perf measures the figure.
	if p := rep.Probe; !p.Answered || p.Frames < 200 || p.BadPercent > 10 {
		t.Errorf("probe: %+v", p)
	}
	if rep.Gateway.Refusals != 0 {
		t.Errorf("%v calls refused with admission ceilings off", rep.Gateway.Refusals)
	}
	if rep.WindowMS < 4500 {
		t.Errorf("steady window %.0f ms, want about 5000", rep.WindowMS)
	}
	if len(rep.Warnings) > 0 {
		t.Errorf("warnings: %v", rep.Warnings)
	}

	// The rooms the run created are gone.
	for k := range 4 {
		status, _, err := srv.API(ctx, "GET", "/v1/rooms/loadtest-"+string(rune('0'+k)), nil)
		if err != nil || status != 404 {
			t.Errorf("room loadtest-%d after the run: %d %v, want 404", k, status, err)
		}
	}
}

// loadSpeechWAV makes an 8 kHz mono speech WAV with espeak-ng and sox in
// the test's temporary directory, or returns nil when they are missing.
func loadSpeechWAV(t *testing.T) *caller.WAV {
	t.Helper()
	espeak, err1 := exec.LookPath("espeak-ng")
	sox, err2 := exec.LookPath("sox")
	if err1 != nil || err2 != nil {
		t.Log("espeak-ng or sox missing: the callers send a tone")
		return nil
	}
	dir := t.TempDir()
	raw, out := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "speech.wav")
	text := "Every caller in this room should hear the others speaking. One, two, three, four, five."
	if b, err := exec.Command(espeak, "-v", "en-us", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, b)
	}
	if b, err := exec.Command(sox, "-R", "-D", raw, "-r", "8000", "-c", "1", "-b", "16", out, "norm", "-3").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, b)
	}
	w, err := caller.LoadWAV(out)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
