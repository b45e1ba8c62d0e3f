package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/livekit"
	"github.com/roombridge/roombridge/gateway/room/roomtest"
	"github.com/roombridge/roombridge/test/internal/netns"
)

// LiveKit end-to-end tests: the LiveKit adapter against a real
// livekit-server, inside a network namespace (see package netns) because
// the SDK gathers no loopback ICE candidates.

const (
	lkKey    = "roombridgetest"
	lkSecret = "roombridge-test-secret-of-at-least-32-characters"
	lkPort   = 7880
)

// lkServer is a livekit-server process in the test's namespace.
type lkServer struct {
	t    *testing.T
	bin  string
	conf string
	logs *syncBuffer
	cmd  *exec.Cmd
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// liveKitBinary finds livekit-server: $LIVEKIT_SERVER, livekit-server on
// PATH, or the `server` binary `go install …/livekit-server/cmd/server`
// leaves in GOPATH/bin. Missing, the test is skipped (failed with CI=true).
func liveKitBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LIVEKIT_SERVER"); p != "" {
		return p
	}
	if p, err := exec.LookPath("livekit-server"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "server")
		if out, err := exec.Command(p, "--version").CombinedOutput(); err == nil && strings.Contains(string(out), "livekit") {
			return p
		}
	}
	msg := "livekit-server not installed (go install github.com/livekit/livekit-server/cmd/server@v1.13.5)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startLiveKit starts livekit-server on netns.Addr and waits until it
// answers. It is stopped when the test ends.
func startLiveKit(t *testing.T) *lkServer {
	t.Helper()
	return startLiveKitRTC(t, "")
}

// lkAnnouncedOnly makes livekit-server gather on its announced address
// only (startLiveKitRTC): it then answers ICE checks from the address it
// announces, as a server on its own host or behind a 1:1 NAT does.
// Gathering on both ends of the veth pair, it answers from Peer, which
// pion takes for a peer-reflexive candidate and nominates only after 1 s:
// every join takes over a second. The other tests keep that setup as
// they were written for it.
const lkAnnouncedOnly = "  ips:\n    includes: [" + netns.Addr + "/32]\n"

// startLiveKitRTC is startLiveKit with more settings under rtc: (YAML
// lines indented by two spaces).
func startLiveKitRTC(t *testing.T, rtc string) *lkServer {
	t.Helper()
	bin := liveKitBinary(t)
	conf := filepath.Join(t.TempDir(), "livekit.yaml")
	body := fmt.Sprintf(`port: %d
bind_addresses: [%q]
rtc:
  node_ip: %q
  tcp_port: 7881
  udp_port: 7882
  use_external_ip: false
%skeys:
  %s: %s
room:
  enable_remote_unmute: true
  empty_timeout: 10
logging:
  level: info
`, lkPort, netns.Addr, netns.Addr, rtc, lkKey, lkSecret)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &lkServer{t: t, bin: bin, conf: conf, logs: &syncBuffer{}}
	s.start()
	t.Cleanup(func() {
		s.stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("livekit-server logs (last 8 kB):\n%s", tail(s.logs.String(), 8<<10))
		}
	})
	return s
}

func (s *lkServer) url() string { return fmt.Sprintf("ws://%s:%d", netns.Addr, lkPort) }

func (s *lkServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--config", s.conf)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start livekit-server: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://%s:%d/", netns.Addr, lkPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.done:
			s.t.Fatalf("livekit-server exited at start:\n%s", tail(s.logs.String(), 4<<10))
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("livekit-server not answering after 20 s:\n%s", tail(s.logs.String(), 4<<10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the server with sig and waits for it.
func (s *lkServer) stop(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("ROOMBRIDGE_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// enterLiveKitTest starts a test against livekit-server: skipped under
// -short, run inside a network namespace (see netns.Enter). False means the
// caller returns at once.
func enterLiveKitTest(t *testing.T) bool {
	t.Helper()
	if testing.Short() {
		t.Skip("livekit-server end-to-end: skipped under -short")
	}
	return netns.Enter(t)
}

// newLiveKitBackend connects the adapter to s.
func newLiveKitBackend(t *testing.T, s *lkServer) *livekit.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := livekit.New(ctx, livekit.Config{
		URL: s.url(), APIKey: lkKey, APISecret: lkSecret, Logger: testLogger(t),
		HealthInterval: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("livekit.New: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// TestLiveKitConformance runs the room backend conformance suite against
// the LiveKit adapter and a real livekit-server.
func TestLiveKitConformance(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	// A backend of its own for each subtest, closed at its end: what one
	// subtest leaves behind (participants still leaving, subscriptions on
	// their way) then never slows the next one's joins and subscriptions,
	// which made KindFilter and ReleaseTracks fail now and then late in a
	// run under -race.
	roomtest.Run(t, func(t *testing.T) (room.Backend, room.Directory) {
		b := newLiveKitBackend(t, s)
		return b, b
	}, roomtest.WithWebRTC(joinLiveKitClient(s)), roomtest.WithCompanionKeyframeKnownIssue(
		"through the receiving companion of a publish-only participant (video added by re-INVITE), "+
			"the request is sent but in about one full -race run of this suite in three it never reaches "+
			"the publisher; in isolation it always does (README, Room systems: Not done)"))
}

// TestLiveKitStartErrors: New tells an unreachable server from a wrong key.
func TestLiveKitStartErrors(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	ctx := context.Background()

	start := time.Now()
	_, err := livekit.New(ctx, livekit.Config{URL: fmt.Sprintf("ws://%s:%d", netns.Addr, lkPort+100), APIKey: lkKey, APISecret: lkSecret})
	if !errors.Is(err, room.ErrUnavailable) || errors.Is(err, livekit.ErrBadCredentials) {
		t.Errorf("New against a closed port: %v, want room.ErrUnavailable", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("New against a closed port took %v", d)
	}
	_, err = livekit.New(ctx, livekit.Config{URL: s.url(), APIKey: lkKey, APISecret: "wrong-secret-wrong-secret-wrong-secret"})
	if !errors.Is(err, livekit.ErrBadCredentials) || errors.Is(err, room.ErrUnavailable) {
		t.Errorf("New with a wrong secret: %v, want livekit.ErrBadCredentials", err)
	}
	_, err = livekit.New(ctx, livekit.Config{URL: s.url(), APIKey: "nobody", APISecret: lkSecret})
	if !errors.Is(err, livekit.ErrBadCredentials) {
		t.Errorf("New with an unknown key: %v, want livekit.ErrBadCredentials", err)
	}
	if _, err := livekit.New(ctx, livekit.Config{URL: "sip:nope", APIKey: lkKey, APISecret: lkSecret}); !errors.Is(err, livekit.ErrConfig) {
		t.Errorf("New with a bad URL: %v, want livekit.ErrConfig", err)
	}
}

// TestLiveKitOutage: livekit-server dies mid-call. The legs get
// EventRemoved within seconds, Ready fails and Join fails at once with
// room.ErrUnavailable; once the server is back, Join works again.
func TestLiveKitOutage(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	b := newLiveKitBackend(t, s)
	ctx := context.Background()
	var legs []room.Participant
	for _, name := range []string{"a", "b"} {
		p, err := b.Join(ctx, "outage", room.ParticipantInfo{Name: name, Kind: room.ParticipantKindSIP})
		if err != nil {
			t.Fatalf("Join %s: %v", name, err)
		}
		defer p.Leave("test over")
		legs = append(legs, p)
	}
	w, err := legs[0].PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_ = w.WriteAudio([]byte{0xf8, 0xff, 0xfe}, 20*time.Millisecond) // an Opus DTX frame

	killed := time.Now()
	s.stop(syscall.SIGKILL)
	for i, p := range legs {
		select {
		case <-removedOrClosed(p):
			t.Logf("leg %d removed %v after the kill", i, time.Since(killed).Round(time.Millisecond))
		case <-time.After(15 * time.Second):
			t.Fatalf("leg %d not removed 15 s after livekit-server died", i)
		}
	}
	waitUntil(t, 10*time.Second, "Ready failing", func() bool { return errors.Is(b.Ready(ctx), room.ErrUnavailable) })
	if b.Healthy() {
		t.Error("Healthy while LiveKit is down")
	}
	start := time.Now()
	_, err = b.Join(ctx, "outage", room.ParticipantInfo{Name: "c", Kind: room.ParticipantKindSIP})
	if !errors.Is(err, room.ErrUnavailable) {
		t.Fatalf("Join while LiveKit is down: %v, want room.ErrUnavailable", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Join while LiveKit is down took %v, want an immediate refusal", d)
	}
	if err := w.WriteAudio([]byte{0xf8, 0xff, 0xfe}, 20*time.Millisecond); !errors.Is(err, room.ErrClosed) {
		t.Errorf("WriteAudio after removal: %v, want room.ErrClosed", err)
	}

	s.start()
	waitUntil(t, 10*time.Second, "Ready again", func() bool { return b.Ready(ctx) == nil })
	p, err := b.Join(ctx, "outage", room.ParticipantInfo{Name: "c", Kind: room.ParticipantKindSIP})
	if err != nil {
		t.Fatalf("Join after the restart: %v", err)
	}
	defer p.Leave("test over")
	waitUntil(t, 10*time.Second, "c listed", func() bool {
		ps, err := b.Participants(ctx, "outage")
		return err == nil && len(ps) == 1 && ps[0].ID == p.ID()
	})
}

// removedOrClosed is closed once p's events end; it fails nothing by itself.
func removedOrClosed(p room.Participant) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range p.Events() {
		}
	}()
	return done
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLiveKitDTMFAndKind: digits published by a leg reach a plain LiveKit
// client as SIP DTMF packets and on the "dtmf" topic, and the client sees
// the leg as a SIP participant with its attributes.
func TestLiveKitDTMFAndKind(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	b := newLiveKitBackend(t, s)
	ctx := context.Background()

	type got struct {
		topic, payload, digit string
	}
	recv := make(chan got, 16)
	joined := make(chan *lksdk.RemoteParticipant, 4)
	client, err := lksdk.ConnectToRoom(s.url(), lksdk.ConnectInfo{
		APIKey: lkKey, APISecret: lkSecret, RoomName: "dtmf", ParticipantIdentity: "web",
	}, &lksdk.RoomCallback{
		OnParticipantConnected: func(rp *lksdk.RemoteParticipant) { joined <- rp },
		ParticipantCallback: lksdk.ParticipantCallback{
			OnDataPacket: func(pkt lksdk.DataPacket, params lksdk.DataReceiveParams) {
				switch v := pkt.(type) {
				case *lksdk.UserDataPacket:
					recv <- got{topic: v.Topic, payload: string(v.Payload)}
				default:
					if d, ok := pkt.(interface{ GetDigit() string }); ok {
						recv <- got{digit: d.GetDigit()}
					}
				}
			},
		},
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Disconnect()

	p, err := b.Join(ctx, "dtmf", room.ParticipantInfo{
		Name: "+1555****99", Kind: room.ParticipantKindSIP,
		Attributes: map[string]string{"sip.trunk": "local"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Leave("test over")
	select {
	case rp := <-joined:
		if rp.Identity() != p.ID() || rp.Kind() != lksdk.ParticipantSIP || rp.Attributes()["sip.trunk"] != "local" || rp.Name() != "+1555****99" {
			t.Errorf("client sees %q kind %v name %q attributes %v", rp.Identity(), rp.Kind(), rp.Name(), rp.Attributes())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("client not told that the leg joined")
	}

	dp, ok := p.(livekit.DataPublisher)
	if !ok {
		t.Fatal("participant is not a livekit.DataPublisher")
	}
	if err := dp.PublishDTMF("1#"); err != nil {
		t.Fatal(err)
	}
	var digits, topic string
	deadline := time.After(10 * time.Second)
	for digits != "1#" || topic == "" {
		select {
		case g := <-recv:
			digits += g.digit
			if g.topic != "" {
				topic = g.topic + ":" + g.payload
			}
		case <-deadline:
			t.Fatalf("client got digits %q and topic %q", digits, topic)
		}
	}
	if topic != "dtmf:1#" {
		t.Errorf("user packet %q, want dtmf:1#", topic)
	}
	if err := dp.PublishDTMF("x"); err == nil {
		t.Error("PublishDTMF accepted x")
	}
}

// TestLiveKitLeaks: participants that join, carry media and leave, then
// the backend's Close, leave no goroutine behind.
func TestLiveKitLeaks(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	before := goleak.IgnoreCurrent()
	b, err := livekit.New(context.Background(), livekit.Config{URL: s.url(), APIKey: lkKey, APISecret: lkSecret, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	frame := []byte{0xf8, 0xff, 0xfe}
	for i := range 4 {
		hub, err := b.Join(ctx, "leaks", room.ParticipantInfo{Name: "hub", Kind: room.ParticipantKindBot, Hidden: true})
		if err != nil {
			t.Fatal(err)
		}
		tracks := make(chan room.RemoteTrack, 4)
		hub.OnTrack(func(rt room.RemoteTrack) { tracks <- rt })
		// Odd cycles: a phone leg (publish-only, one PeerConnection, its
		// track published with the join).
		leg, err := b.Join(ctx, "leaks", room.ParticipantInfo{Name: "leg", Kind: room.ParticipantKindSIP, PublishOnly: i%2 == 1})
		if err != nil {
			t.Fatal(err)
		}
		w, err := leg.PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					_ = w.WriteAudio(frame, 20*time.Millisecond)
				}
			}
		}()
		select {
		case rt := <-tracks:
			buf := make([]byte, 1500)
			if _, _, err := rt.ReadFrame(buf); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("cycle %d: no track", i)
		}
		close(stop)
		if i%2 == 0 {
			_ = w.Close()
		}
		_ = leg.Leave("bye")
		_ = hub.Leave("bye")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Idle keep-alive connections of the RoomService's HTTP client are
	// the HTTP transport's, not a participant's.
	goleak.VerifyNone(t, before,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
}

// TestLiveKitPublishOnlyJoins: phone legs (publish-only, joined with the
// adapter's lean client: one PeerConnection, the audio track published
// with the join request) join one room one after another and every one of
// them is in the room with its track, against livekit-server on its
// announced address, as an ICE-lite server, and answering ICE from
// another address than it announces (a peer-reflexive pair, as behind a
// NAT; the lean client nominates it at once, where pion would wait 1 s).
// It logs the time per join. (The lean client applies
// its offer before it sends it, so that LiveKit's answer, however fast,
// is never lost, as the SDK's sometimes was.)
func TestLiveKitPublishOnlyJoins(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	for _, tc := range []struct{ name, rtc string }{
		{"announced address", lkAnnouncedOnly},
		{"ICE lite", lkAnnouncedOnly + "  use_ice_lite: true\n"},
		{"peer-reflexive", ""},
	} {
		t.Run(tc.name, func(t *testing.T) { testPublishOnlyJoins(t, startLiveKitRTC(t, tc.rtc)) })
	}
}

func testPublishOnlyJoins(t *testing.T, s *lkServer) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, err := livekit.New(ctx, livekit.Config{URL: s.url(), APIKey: lkKey, APISecret: lkSecret, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	const n = 30
	start := time.Now()
	legs := startLegs(t, b, "phones", n) // fails the test if a join fails
	t.Cleanup(legs.close)
	joined := time.Since(start)
	// A join returns once ICE has connected and LiveKit has the track. In
	// LiveKit's list (which may lag a little) each leg appears once (a
	// session left behind by a join started over is gone) with its audio
	// track.
	var ps []room.ParticipantState
	listed := func() bool {
		if ps, err = b.Participants(ctx, "phones"); err != nil || len(ps) != n {
			return false
		}
		ok := map[string]bool{}
		for _, p := range ps {
			ok[p.ID] = len(p.Tracks) == 1 && p.Tracks[0].Kind == room.TrackKindAudio
		}
		for _, p := range legs.legs {
			if !ok[p.ID()] {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !listed(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s LiveKit lists (err %v) %+v", err, ps)
		}
	}
	t.Logf("%d legs joined and published in %v (%v each)", n, joined.Round(time.Millisecond), (joined / n).Round(time.Millisecond))
}
