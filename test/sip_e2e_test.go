package test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// Shared by the SIP end-to-end tests (sipp_test.go, baresip_test.go): a
// gateway that takes calls from loopback, the room API seen from a test, and
// the audio checks on what a peer recorded.

// sipDomain is the gateway's SIP domain in these tests; a room's URI is
// sip:ROOM@sipDomain.
const sipDomain = "conf.example.com"

// startSIPGateway skips under -short and starts a gateway whose loopback
// trunk is trusted: it may call room demo (PIN 1234, host PIN 9999, alias
// 4711) directly, without the PIN. YAML fragments are merged over that
// config.
func startSIPGateway(t *testing.T, yaml ...string) *harness.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end SIP test; skipped with -short")
	}
	return harness.Start(t, harness.Options{Config: map[string]any{
		"sip": map[string]any{"domain": sipDomain},
		"trunks": []any{
			map[string]any{"name": "local", "allow": []any{"127.0.0.0/8"}, "trusted": true},
		},
	}, YAML: yaml})
}

// sipParticipant is one entry of GET /v1/rooms/{room}/participants.
type sipParticipant struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Kind       string            `json:"kind"`
	AudioMuted bool              `json:"audio_muted"`
	Node       string            `json:"node"`
	Attributes map[string]string `json:"attributes"`
	Tracks     []struct {
		Kind   string `json:"kind"`
		Codec  string `json:"codec"`
		Source string `json:"source"`
	} `json:"tracks"`
	Quality *struct {
		SRTP  bool          `json:"srtp"`
		Video *videoQuality `json:"video"`
		// Content is the room system's content stream.
		Content *videoQuality `json:"content"`
	} `json:"quality"`
}

// videoQuality is a room system's video in the room API.
type videoQuality struct {
	Width          int    `json:"width"`
	Height         int    `json:"height"`
	FramesReceived uint64 `json:"frames_received"`
	FramesSent     uint64 `json:"frames_sent"`
	PacketsLost    uint64 `json:"packets_lost"`
	Switches       uint64 `json:"switches"`
	SendBitrateCap int    `json:"send_bitrate_cap"`
}

func (p sipParticipant) String() string { return fmt.Sprintf("%s(%s,%s)", p.Name, p.Kind, p.ID) }

// sipRoomParticipants lists a room's participants through the API.
func sipRoomParticipants(ctx context.Context, srv *harness.Server, room string) ([]sipParticipant, error) {
	status, body, err := srv.API(ctx, http.MethodGet, "/v1/rooms/"+room+"/participants", nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET participants: %d %s", status, strings.TrimSpace(string(body)))
	}
	var res struct {
		Participants []sipParticipant `json:"participants"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("GET participants: %w: %s", err, body)
	}
	return res.Participants, nil
}

// sipCountKind counts the participants of a kind ("sip", "webrtc", "bot").
func sipCountKind(ps []sipParticipant, kind string) int {
	n := 0
	for _, p := range ps {
		if p.Kind == kind {
			n++
		}
	}
	return n
}

// sipWaitRoom polls the room's participants every 100 ms until cond holds,
// stop is closed (then it reports false) or timeout passes (then it fails
// t). It returns the last list seen.
func sipWaitRoom(t *testing.T, srv *harness.Server, room string, timeout time.Duration, stop <-chan struct{}, what string, cond func([]sipParticipant) bool) ([]sipParticipant, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []sipParticipant
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ps, err := sipRoomParticipants(ctx, srv, room)
		cancel()
		if err == nil {
			last, lastErr = ps, nil
			if cond(ps) {
				return ps, true
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s: %s: not within %v; last participants %v (error %v)", room, what, timeout, last, lastErr)
		}
		select {
		case <-stop:
			return last, false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Audio analysis of recordings, in windows of 200 ms at 8 kHz.
const (
	sipWindow = 1600
	// sipMinTonePower is the Goertzel power (tone.Power; a full-scale sine is
	// 0.25) a window needs for its tone to count: about -30 dBFS.
	sipMinTonePower = 1e-3
	// sipMinSpeechRMS is the RMS (tone.RMS) a window needs to count as
	// sound rather than silence or comfort noise: about -40 dBFS.
	sipMinSpeechRMS = 0.01
)

// sipToneWindows counts the windows of pcm where freq is the strongest of
// candidates and loud enough.
func sipToneWindows(pcm []int16, freq float64, candidates []float64) int {
	n := 0
	for i := 0; i+sipWindow <= len(pcm); i += sipWindow {
		w := pcm[i : i+sipWindow]
		f, p := tone.Dominant(w, 8000, candidates)
		if f == freq && p >= sipMinTonePower {
			n++
		}
	}
	return n
}

// sipToneLevel is the median power of freq, in dB relative to a full-scale
// sine, over the windows sipToneWindows counts; -inf when there are none.
func sipToneLevel(pcm []int16, freq float64, candidates []float64) float64 {
	var levels []float64
	for i := 0; i+sipWindow <= len(pcm); i += sipWindow {
		w := pcm[i : i+sipWindow]
		f, p := tone.Dominant(w, 8000, candidates)
		if f == freq && p >= sipMinTonePower {
			levels = append(levels, 10*math.Log10(p/0.25))
		}
	}
	if len(levels) == 0 {
		return math.Inf(-1)
	}
	slices.Sort(levels)
	return levels[len(levels)/2]
}

// sipLoudWindows counts the windows of pcm whose RMS is above silence.
func sipLoudWindows(pcm []int16) int {
	n := 0
	for i := 0; i+sipWindow <= len(pcm); i += sipWindow {
		if tone.RMS(pcm[i:i+sipWindow]) >= sipMinSpeechRMS {
			n++
		}
	}
	return n
}

// sipDescribe summarises a recording for a failure message: its length,
// overall RMS and strongest frequencies.
func sipDescribe(pcm []int16) string {
	if len(pcm) == 0 {
		return "empty recording"
	}
	var peaks []string
	for _, f := range tone.Peaks(pcm, 8000, 4) {
		// dB relative to a full-scale sine (power 0.25).
		peaks = append(peaks, fmt.Sprintf("%.0f Hz %.1f dB", f, 10*math.Log10(tone.Power(pcm, 8000, f)/0.25)))
	}
	return fmt.Sprintf("%.1f s, RMS %.4f, %d loud windows of 200 ms, peaks [%s]",
		float64(len(pcm))/8000, tone.RMS(pcm), sipLoudWindows(pcm), strings.Join(peaks, ", "))
}

// sipCall is a gateway/caller call running in the background.
type sipCall struct {
	done   chan struct{}
	report *caller.Report
	err    error
	logs   sipLogBuffer
}

// sipStartCaller runs caller.Run in the background on loopback, with RTP
// ports away from sipp's and baresip's, its logs kept for the test log on
// failure. The call ends after o.Duration or when the test ends.
func sipStartCaller(t *testing.T, o caller.Options) *sipCall {
	t.Helper()
	c := &sipCall{done: make(chan struct{})}
	o.LocalIP = netip.MustParseAddr("127.0.0.1")
	if o.PortMin == 0 {
		o.PortMin, o.PortMax = 36100, 39999
	}
	o.Logger = slog.New(slog.NewTextHandler(&c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		<-c.done
		if t.Failed() {
			t.Logf("caller %s logs:\n%s", o.Target, c.logs.String())
		}
	})
	go func() {
		defer close(c.done)
		c.report, c.err = caller.Run(ctx, o)
	}()
	return c
}

// wait waits for the call to end and fails t if it was not answered.
func (c *sipCall) wait(t *testing.T, timeout time.Duration) *caller.Report {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		t.Fatalf("caller still running after %v", timeout)
	}
	if c.err != nil {
		t.Fatalf("caller: %v (report %+v)", c.err, c.report)
	}
	if c.report == nil || !c.report.Answered {
		t.Fatalf("caller: call not answered: %+v", c.report)
	}
	return c.report
}

// sipLogBuffer collects a caller's logs across goroutines.
type sipLogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *sipLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *sipLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// sipRoomID returns the numeric id of a room from GET /v1/rooms/{room}.
func sipRoomID(t *testing.T, srv *harness.Server, room string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	status, body, err := srv.API(ctx, http.MethodGet, "/v1/rooms/"+room, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /v1/rooms/%s: %d %s %v", room, status, body, err)
	}
	var r struct {
		NumericID string `json:"numeric_id"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.NumericID == "" {
		t.Fatalf("GET /v1/rooms/%s: no numeric_id in %s (%v)", room, body, err)
	}
	return r.NumericID
}

// TestSIPE2ERoomURIs calls room demo by each of its addresses — name,
// alias, numeric id — over UDP and TCP, and expects each call to be
// answered, to show a SIP participant in the room and to end cleanly.
func TestSIPE2ERoomURIs(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	id := sipRoomID(t, srv, "demo")
	for _, tc := range []struct {
		name, service, transport string
	}{
		{"name-udp", "demo", "udp"},
		{"alias-tcp", "4711", "tcp"},
		{"numeric-id-udp", id, "udp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := sippeer.Start(t, sippeer.Options{
				Scenario:  "call_speech.xml",
				Remote:    srv.SIPAddr,
				Service:   tc.service,
				Domain:    sipDomain,
				Transport: tc.transport,
				Pause:     2500 * time.Millisecond,
				Timeout:   30 * time.Second,
			})
			_, joined := sipWaitRoom(t, srv, "demo", 10*time.Second, p.Done(), "a SIP participant joins",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
			code, err := p.Wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if code != sippeer.ExitOK {
				t.Fatalf("sipp exit %d (%s)", code, sippeer.ExitReason(code))
			}
			if !joined {
				t.Fatal("the call ended before a SIP participant showed in room demo")
			}
			sipWaitRoom(t, srv, "demo", 5*time.Second, nil, "the SIP participant leaves after BYE",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })
		})
	}
}
