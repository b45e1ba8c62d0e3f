package caller_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/internal/leakcheck"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

func TestMain(m *testing.M) {
	sip.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	if os.Getenv("SIP_DEBUG") == "" {
		sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}

// noLeaks fails the test when goroutines it started outlive it (goleak,
// against those running at its start, retried while sipgo's transactions
// wind down). sipgo's UDP readers are left out: sipgo v1.7.2 may open a
// socket of its own when it handles a message while its UserAgent is
// closing (a late retransmission), and close it only with the next
// traffic; see the uac tests. Register it first, so its cleanup runs last.
func noLeaks(t *testing.T) {
	t.Helper()
	opts := []goleak.Option{goleak.IgnoreCurrent(), goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection")}
	t.Cleanup(func() { leakcheck.Verify(t, 5*time.Second, opts...) })
}

func run(t *testing.T, o caller.Options) (*caller.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if o.Duration == 0 {
		o.Duration = 1500 * time.Millisecond
	}
	if o.RTCPInterval == 0 {
		o.RTCPInterval = 300 * time.Millisecond
	}
	o.PortMin, o.PortMax = 44000, 45998
	return caller.Run(ctx, o)
}

func TestEchoTone(t *testing.T) {
	noLeaks(t)
	srv := uastest.Start(t, uastest.Config{})
	for _, tt := range []struct {
		name      string
		transport string
		codec     caller.Codec
		srtp      bool
		freq      float64
	}{
		{"pcmu-udp", "udp", caller.CodecPCMU, false, 440},
		{"pcma-tcp", "tcp", caller.CodecPCMA, false, 440},
		{"g722-udp", "udp", caller.CodecG722, false, 440},
		{"srtp-udp", "udp", caller.CodecPCMU, true, 440},
		{"g722-tls-srtp-wideband", "tls", caller.CodecG722, true, 6000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := run(t, caller.Options{Target: srv.URI("room", tt.transport), Codec: tt.codec, SRTP: tt.srtp, Tone: tt.freq, Insecure: true})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Answered || rep.Status != 200 || rep.SetupTime <= 0 {
				t.Fatalf("report %+v", rep)
			}
			if !rep.HeardFrequency(tt.freq, 5) {
				t.Errorf("peaks %v, want %g Hz", rep.Peaks, tt.freq)
			}
			if p, q := rep.PowerAt(tt.freq), rep.PowerAt(1000); p < 100*q {
				t.Errorf("power at %g Hz %g, at 1000 Hz %g", tt.freq, p, q)
			}
			if rep.HeardRMS < -20 || rep.HeardRMS > -10 {
				t.Errorf("heard %.1f dBFS, want about -13", rep.HeardRMS)
			}
			if rep.Rate != tt.codec.SampleRate() || len(rep.Heard) < rep.Rate/2 {
				t.Errorf("rate %d, %d samples heard", rep.Rate, len(rep.Heard))
			}
			if rep.PacketsSent < 60 || rep.PacketsReceived < 50 || rep.Lost != 0 || rep.MOS < 4 {
				t.Errorf("sent %d, received %d, lost %d, MOS %.2f", rep.PacketsSent, rep.PacketsReceived, rep.Lost, rep.MOS)
			}
			if rep.RemoteHangup {
				t.Error("RemoteHangup")
			}
		})
	}
	if n := srv.Active(); n != 0 {
		t.Errorf("%d calls still up at the server", n)
	}
}

// event is one telephone-event packet as the server received it.
type event struct {
	seq      uint16
	ts       uint32
	marker   bool
	code     uint8
	end      bool
	volume   uint8
	duration uint16
}

func TestDTMFRFC4733(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	var events []event
	srv := uastest.Start(t, uastest.Config{OnRTP: func(p *rtp.Packet) {
		if p.PayloadType != 101 || len(p.Payload) < 4 {
			return
		}
		mu.Lock()
		events = append(events, event{
			seq: p.SequenceNumber, ts: p.Timestamp, marker: p.Marker, code: p.Payload[0],
			end: p.Payload[1]&0x80 != 0, volume: p.Payload[1] & 0x3f, duration: binary.BigEndian.Uint16(p.Payload[2:]),
		})
		mu.Unlock()
	}})
	rep, err := run(t, caller.Options{
		Target: srv.URI("room", "udp"), Tone: 440, DTMF: "1#", DTMFDelay: 200 * time.Millisecond,
		DTMFDuration: 100 * time.Millisecond, DTMFGap: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DTMFSent != "1#" || rep.DTMFReceived != "1#" {
		t.Errorf("sent %q, received back %q", rep.DTMFSent, rep.DTMFReceived)
	}
	mu.Lock()
	defer mu.Unlock()
	// Group by event timestamp.
	var groups [][]event
	for i, e := range events {
		if i == 0 || e.ts != events[i-1].ts {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], e)
	}
	if len(groups) != 2 {
		t.Fatalf("%d events: %+v", len(groups), events)
	}
	for i, g := range groups {
		want := []uint8{1, 11}[i]
		// 100 ms = 5 packets, the last with E, then 2 retransmissions.
		if len(g) != 7 {
			t.Fatalf("event %d: %d packets: %+v", i, len(g), g)
		}
		for k, e := range g {
			if e.code != want || e.volume != 10 {
				t.Errorf("event %d packet %d: %+v", i, k, e)
			}
			if e.marker != (k == 0) {
				t.Errorf("event %d packet %d: marker %v", i, k, e.marker)
			}
			wantDur := uint16(160 * min(k+1, 5))
			if e.duration != wantDur || e.end != (k >= 4) {
				t.Errorf("event %d packet %d: duration %d end %v, want %d %v", i, k, e.duration, e.end, wantDur, k >= 4)
			}
			if k > 0 && e.seq != g[k-1].seq+1 {
				t.Errorf("event %d packet %d: seq %d after %d", i, k, e.seq, g[k-1].seq)
			}
		}
	}
	// The gap between digits: the second starts 100 ms (5 frames of
	// audio) after the first's last packet, plus the 2 end repeats.
	if d := groups[1][0].ts - groups[0][0].ts; d != 160*(7+5) {
		t.Errorf("second digit %d timestamp units after the first, want %d", d, 160*12)
	}
}

func TestDTMFInfo(t *testing.T) {
	noLeaks(t)
	srv := uastest.Start(t, uastest.Config{})
	rep, err := run(t, caller.Options{
		Target: srv.URI("room", "tcp"), DTMF: "42", DTMFVia: caller.DTMFInfo,
		DTMFDelay: 100 * time.Millisecond, DTMFDuration: 60 * time.Millisecond, DTMFGap: 40 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	infos := srv.Infos()
	if len(infos) != 2 || rep.DTMFSent != "42" {
		t.Fatalf("infos %+v, sent %q", infos, rep.DTMFSent)
	}
	for i, want := range []string{"Signal=4", "Signal=2"} {
		if infos[i].ContentType != "application/dtmf-relay" || !strings.Contains(infos[i].Body, want) || !strings.Contains(infos[i].Body, "Duration=60") {
			t.Errorf("info %d: %+v", i, infos[i])
		}
	}
}

func TestRemoteHangup(t *testing.T) {
	noLeaks(t)
	srv := uastest.Start(t, uastest.Config{HangupAfter: 400 * time.Millisecond})
	rep, err := run(t, caller.Options{Target: srv.URI("room", "udp"), Tone: 440, Duration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.RemoteHangup || rep.Duration > 3*time.Second {
		t.Errorf("remote hangup %v after %v", rep.RemoteHangup, rep.Duration)
	}
}

func TestBusy(t *testing.T) {
	noLeaks(t)
	srv := uastest.Start(t, uastest.Config{Reject: 486})
	rep, err := run(t, caller.Options{Target: srv.URI("room", "udp"), Tone: 440})
	var se *uac.StatusError
	if !errors.As(err, &se) || se.Code != 486 {
		t.Fatalf("err %v", err)
	}
	if rep == nil || rep.Answered || rep.Status != 486 || rep.Reason != "Busy Here" {
		t.Fatalf("report %+v", rep)
	}
}

func TestDigest(t *testing.T) {
	noLeaks(t)
	srv := uastest.Start(t, uastest.Config{Username: "bob", Password: "pw"})
	rep, err := run(t, caller.Options{Target: srv.URI("room", "udp"), Tone: 440, Username: "bob", Password: "pw", Duration: 500 * time.Millisecond})
	if err != nil || !rep.Answered {
		t.Fatalf("err %v, report %+v", err, rep)
	}
}

func TestPlayAndRecord(t *testing.T) {
	noLeaks(t)
	srv := uastest.Start(t, uastest.Config{})
	dir := t.TempDir()
	// A 16 kHz WAV of 1 kHz, played over G.711 (resampled to 8 kHz).
	pcm := make([]int16, 16000/5)
	tone.NewGenerator(1000, 16000, 8000).Fill(pcm)
	in := filepath.Join(dir, "in.wav")
	if err := caller.SaveWAV(in, 16000, pcm); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.wav")
	rep, err := run(t, caller.Options{Target: srv.URI("room", "udp"), PlayPath: in, Loop: true, Record: out})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.HeardFrequency(1000, 5) {
		t.Errorf("peaks %v", rep.Peaks)
	}
	rec, err := caller.LoadWAV(out)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Rate != 8000 || len(rec.Samples) != len(rep.Heard) {
		t.Errorf("recorded %d Hz, %d samples; heard %d", rec.Rate, len(rec.Samples), len(rep.Heard))
	}
}

func TestWAVRoundTrip(t *testing.T) {
	pcm := []int16{0, 1, -1, 32767, -32768, 1234}
	var b bytes.Buffer
	if err := caller.WriteWAV(&b, 16000, pcm); err != nil {
		t.Fatal(err)
	}
	w, err := caller.ReadWAV(bytes.NewReader(b.Bytes()))
	if err != nil || w.Rate != 16000 || len(w.Samples) != len(pcm) {
		t.Fatalf("%v %+v", err, w)
	}
	for i := range pcm {
		if w.Samples[i] != pcm[i] {
			t.Fatalf("sample %d: %d, want %d", i, w.Samples[i], pcm[i])
		}
	}
	bad := append([]byte(nil), b.Bytes()...)
	binary.LittleEndian.PutUint32(bad[24:], 44100)
	if _, err := caller.ReadWAV(bytes.NewReader(bad)); !errors.Is(err, caller.ErrBadWAV) {
		t.Errorf("44.1 kHz: %v", err)
	}
	if _, err := caller.ReadWAV(strings.NewReader("RIFF....WAVE")); !errors.Is(err, caller.ErrBadWAV) {
		t.Errorf("no chunks: %v", err)
	}
}

func TestOptions(t *testing.T) {
	for name, o := range map[string]caller.Options{
		"no target": {},
		"bad dtmf":  {Target: "sip:a@127.0.0.1", DTMF: "1x"},
		"bad tone":  {Target: "sip:a@127.0.0.1", Tone: 5000},
	} {
		if _, err := caller.Run(context.Background(), o); !errors.Is(err, caller.ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, s := range []string{"pcmu", "PCMA", "g722"} {
		if c, err := caller.ParseCodec(s); err != nil || !strings.EqualFold(c.String(), s) {
			t.Errorf("ParseCodec(%q) = %v, %v", s, c, err)
		}
	}
	if m, err := caller.ParseDTMFMode("info"); err != nil || m != caller.DTMFInfo {
		t.Errorf("ParseDTMFMode: %v %v", m, err)
	}
}

// TestRTPTimeout: a far end that answers and then sends nothing (a
// gateway that died) is hung up on after RTPTimeout, as a phone does,
// and the report says why.
func TestRTPTimeout(t *testing.T) {
	noLeaks(t)
	srv := uastest.Start(t, uastest.Config{Silent: true})
	rep, err := run(t, caller.Options{Target: srv.URI("room", "udp"), Tone: 440, Duration: 10 * time.Second, RTPTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.MediaTimeout || rep.RemoteHangup || rep.Duration >= 10*time.Second {
		t.Errorf("media timeout %v, remote hangup %v, after %v: want the caller to hang up on the silence", rep.MediaTimeout, rep.RemoteHangup, rep.Duration)
	}
	if rep.PacketsReceived != 0 {
		t.Errorf("%d packets received from a silent peer", rep.PacketsReceived)
	}
	// With media flowing the timeout never fires.
	echo := uastest.Start(t, uastest.Config{})
	rep, err = run(t, caller.Options{Target: echo.URI("room", "udp"), Tone: 440, Duration: 1500 * time.Millisecond, RTPTimeout: 500 * time.Millisecond})
	if err != nil || rep.MediaTimeout || !rep.HeardFrequency(440, 5) {
		t.Errorf("echo call with RTPTimeout: %+v %v", rep, err)
	}
}
