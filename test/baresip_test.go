package test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/baresip"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// The phones' tones: amplitude 16000, -6.2 dB relative to a full-scale sine.
const (
	toneAmplitude = 16000
	toneSourceDB  = -6.24
)

// TestBaresipTone: two baresip phones call room demo, one with a 600 Hz
// tone as its microphone, the other with 1000 Hz, over UDP and over TCP.
// Each must hear the other's tone through the bridge (the room's N-1 mix),
// and not its own.
func TestBaresipTone(t *testing.T) {
	harness.RequireTool(t, "baresip")
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			srv := startSIPGateway(t)
			target := "sip:demo@" + srv.SIPAddr
			if transport == "tcp" {
				target += ";transport=tcp"
			}
			dir := t.TempDir()
			lowWAV, highWAV := filepath.Join(dir, "600.wav"), filepath.Join(dir, "1000.wav")
			for _, f := range []struct {
				path string
				freq float64
			}{{lowWAV, 600}, {highWAV, 1000}} {
				// Longer than the call.
				if err := baresip.WriteToneWAV(f.path, f.freq, toneAmplitude, 30); err != nil {
					t.Fatal(err)
				}
			}

			low := baresip.Start(t, baresip.Options{User: "low", Target: target, Source: lowWAV, Duration: 13 * time.Second})
			sipWaitRoom(t, srv, "demo", 10*time.Second, low.Done(), "the 600 Hz phone joins",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
			high := baresip.Start(t, baresip.Options{User: "high", Target: target, Source: highWAV, Duration: 9 * time.Second})
			_, both := sipWaitRoom(t, srv, "demo", 10*time.Second, high.Done(), "the 1000 Hz phone joins",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
			if !both {
				t.Fatal("the 1000 Hz phone quit before both phones were in room demo")
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for _, p := range []*baresip.Phone{high, low} {
				if err := p.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				if !p.Established() {
					t.Fatalf("%s: no call established", p.Args)
				}
			}
			sipWaitRoom(t, srv, "demo", 5*time.Second, nil, "both phones leave",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })

			candidates := []float64{600, 1000}
			for _, c := range []struct {
				name      string
				phone     *baresip.Phone
				want, own float64
			}{
				{"600 Hz phone", low, 1000, 600},
				{"1000 Hz phone", high, 600, 1000},
			} {
				heard, err := c.phone.Heard()
				if err != nil {
					t.Fatal(err)
				}
				got := sipToneWindows(heard, c.want, candidates)
				echo := sipToneWindows(heard, c.own, candidates)
				level := sipToneLevel(heard, c.want, candidates)
				t.Logf("%s heard %d windows of %.0f Hz at %.1f dB, %d of its own %.0f Hz: %s", c.name, got, c.want, level, echo, c.own, sipDescribe(heard))
				// Both phones overlap for about 8 s: want at least 3 s of the
				// other's tone.
				if got < 15 {
					t.Errorf("%s heard %.0f Hz in %d windows of 200 ms, want >= 15: %s", c.name, c.want, got, sipDescribe(heard))
				}
				// The sources are at -6 dB; the bridge (G.711, Opus, mixer)
				// may lose a little, not half the level.
				if level < toneSourceDB-6 || level > toneSourceDB+3 {
					t.Errorf("%s heard %.0f Hz at %.1f dB (median of its windows); the source is %.1f dB", c.name, c.want, level, toneSourceDB)
				}
				if echo > 2 {
					t.Errorf("%s heard its own %.0f Hz in %d windows: the room echoes a leg's own audio", c.name, c.own, echo)
				}
			}
		})
	}
}
