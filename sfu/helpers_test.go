package sfu

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/room"
)

var toneCandidates = []float64{440, 1000, 700}

// testLogger logs to stderr with SFU_DEBUG=1 and nowhere otherwise.
func testLogger() *slog.Logger {
	if os.Getenv("SFU_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTestSFU starts an SFU behind an httptest server and returns the
// signalling URL.
func newTestSFU(t testing.TB, cfg Config) (*SFU, string) {
	t.Helper()
	cfg.IncludeLoopback = true
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(s.SignalHandler())
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		srv.Close()
	})
	return s, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// testPeer is a WebRTC subscriber's peer without PeerConnections: its
// sender runs, and its down tracks write to whatever the test binds them to.
func testPeer(tb testing.TB, m *metrics) *rtcPeer {
	p := &rtcPeer{downOut: newSubSender(m)}
	var wg sync.WaitGroup
	p.downOut.start(&wg)
	tb.Cleanup(func() {
		p.downOut.close()
		wg.Wait()
	})
	return p
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pcmSink collects decoded 48 kHz mono PCM.
type pcmSink struct {
	mu  sync.Mutex
	pcm []int16
}

func (s *pcmSink) add(p []int16) {
	s.mu.Lock()
	s.pcm = append(s.pcm, p...)
	if len(s.pcm) > 48000*4 {
		s.pcm = s.pcm[len(s.pcm)-48000*2:]
	}
	s.mu.Unlock()
}

// dominant returns the strongest candidate tone over the last second, once
// at least a second has arrived.
func (s *pcmSink) dominant() (float64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pcm) < 48000 {
		return 0, false
	}
	f, p := tone.Dominant(s.pcm[len(s.pcm)-48000:], 48000, toneCandidates)
	return f, p > 0.001
}

// toneFrames encodes a tone into 20 ms Opus frames, one per call of next.
type toneFrames struct {
	gen *tone.Generator
	enc *opus.Encoder
	pcm []int16
	out []byte
}

func newToneFrames(t testing.TB, freq float64) *toneFrames {
	t.Helper()
	enc, err := opus.NewEncoder(48000, 1, opus.EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &toneFrames{gen: tone.NewGenerator(freq, 48000, 8000), enc: enc, pcm: make([]int16, 960), out: make([]byte, opus.MaxFrameBytes)}
}

func (f *toneFrames) next() ([]byte, error) {
	f.gen.Fill(f.pcm)
	n, err := f.enc.Encode(f.pcm, f.out)
	return f.out[:n], err
}

// pace calls fn every 20 ms until ctx ends; it returns a wait function.
func pace(ctx context.Context, fn func() error) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if fn() != nil {
					return
				}
			}
		}
	}()
	return func() { <-done }
}

// botTone publishes a tone from a bot until the test ends.
func botTone(t testing.TB, p room.Participant, freq float64) room.AudioWriter {
	t.Helper()
	w, err := p.PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("PublishAudio: %v", err)
	}
	frames := newToneFrames(t, freq)
	ctx, cancel := context.WithCancel(context.Background())
	wait := pace(ctx, func() error {
		f, err := frames.next()
		if err != nil {
			return err
		}
		if lw, ok := w.(room.AudioLevelWriter); ok {
			return lw.WriteAudioLevel(f, 20*time.Millisecond, 20)
		}
		return w.WriteAudio(f, 20*time.Millisecond)
	})
	t.Cleanup(func() { cancel(); wait() })
	return w
}

// readAudio decodes a bot's remote audio track into sink until EOF.
func readAudio(t testing.TB, rt room.RemoteTrack, sink *pcmSink) {
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Error(err)
		return
	}
	buf := make([]byte, opus.MaxFrameBytes)
	pcm := make([]int16, 5760)
	for {
		n, _, err := rt.ReadFrame(buf)
		if err != nil {
			return
		}
		if k, err := dec.Decode(buf[:n], pcm); err == nil {
			sink.add(pcm[:k])
		}
	}
}
