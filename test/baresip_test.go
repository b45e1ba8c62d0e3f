package test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/test/internal/baresip"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// The tones sent: amplitude 16000, a peak of -6.2 dB relative to full scale.
const (
	toneAmplitude = 16000
	toneSourceDB  = -6.24
)

// TestBaresipTone: a baresip phone with a 600 Hz tone as its microphone
// calls room demo, over UDP and over TCP; a gateway/caller call in the room
// sends 1000 Hz. The phone must hear 1000 Hz at about the level sent, the
// caller must hear 600 Hz, and neither its own tone (the room's N-1 mix).
func TestBaresipTone(t *testing.T) {
	harness.RequireTool(t, "baresip")
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			srv := startSIPGateway(t)
			target := "sip:demo@" + srv.SIPAddr
			tr := uac.TransportUDP
			if transport == "tcp" {
				target += ";transport=tcp"
				tr = uac.TransportTCP
			}
			src := filepath.Join(t.TempDir(), "600.wav")
			if err := baresip.WriteToneWAV(src, 600, toneAmplitude, 30); err != nil {
				t.Fatal(err)
			}

			phone := baresip.Start(t, baresip.Options{User: "phone", Target: target, Source: src, Duration: 12 * time.Second})
			sipWaitRoom(t, srv, "demo", 10*time.Second, phone.Done(), "the baresip phone joins",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
			call := sipStartCaller(t, caller.Options{
				Target:    "sip:demo@" + srv.SIPAddr,
				Transport: tr,
				Tone:      1000,
				ToneLevel: toneSourceDB, // dBFS peak, as the phone's
				Duration:  8 * time.Second,
			})
			_, both := sipWaitRoom(t, srv, "demo", 10*time.Second, call.done, "the caller joins",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
			if !both {
				t.Fatal("the caller's call ended before both were in room demo")
			}
			rep := call.wait(t, 20*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := phone.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			if !phone.Established() {
				t.Fatal("baresip: no call established")
			}
			sipWaitRoom(t, srv, "demo", 5*time.Second, nil, "both leave",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })

			heard, err := phone.Heard()
			if err != nil {
				t.Fatal(err)
			}
			sipCheckTone(t, "baresip (600 Hz)", heard, 1000, 600, 15)
			sipCheckTone(t, "caller (1000 Hz)", rep.Heard, 600, 1000, 15)
		})
	}
}

// sipCheckTone checks that a recording holds want, from another party, in
// at least minWindows windows of 200 ms at about the level it was sent, and
// not own, the recorder's own tone.
func sipCheckTone(t *testing.T, name string, heard []int16, want, own float64, minWindows int) {
	t.Helper()
	candidates := []float64{want, own}
	got := sipToneWindows(heard, want, candidates)
	echo := sipToneWindows(heard, own, candidates)
	level := sipToneLevel(heard, want, candidates)
	t.Logf("%s heard %d windows of %.0f Hz at %.1f dB, %d of its own %.0f Hz: %s", name, got, want, level, echo, own, sipDescribe(heard))
	if got < minWindows {
		t.Errorf("%s heard %.0f Hz in %d windows of 200 ms, want >= %d: %s", name, want, got, minWindows, sipDescribe(heard))
	}
	// The sources are at -6 dB; the bridge (G.711, Opus, mixer) may lose a
	// little, not half the level.
	if got > 0 && (level < toneSourceDB-6 || level > toneSourceDB+3) {
		t.Errorf("%s heard %.0f Hz at %.1f dB (median of its windows); the source is %.1f dB", name, want, level, toneSourceDB)
	}
	if echo > 2 {
		t.Errorf("%s heard its own %.0f Hz in %d windows: the room echoes a leg's own audio", name, own, echo)
	}
}

// TestBaresipTwoPhones: two baresip phones call room demo over UDP, one
// with a 600 Hz tone as its microphone, the other with 1000 Hz. Each must
// hear the other's tone through the bridge, and not its own.
func TestBaresipTwoPhones(t *testing.T) {
	harness.RequireTool(t, "baresip")
	srv := startSIPGateway(t)
	target := "sip:demo@" + srv.SIPAddr
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
		// Both phones overlap for about 8 s: want at least 3 s of
		// the other's tone.
		sipCheckTone(t, c.name, heard, c.want, c.own, 15)
	}
}
