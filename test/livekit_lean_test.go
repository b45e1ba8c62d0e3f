package test

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/livekit"
	"github.com/roombridge/roombridge/test/internal/netns"
)

// Tests of the lean participant, the adapter's own LiveKit client that
// phone legs (publish-only, visible) join with.

var leanOpus = room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond}

// joinLean joins a phone leg and publishes its audio.
func joinLean(t *testing.T, b room.Backend, roomName, name string) room.Participant {
	t.Helper()
	p, err := b.Join(context.Background(), roomName, room.ParticipantInfo{Name: name, Kind: room.ParticipantKindSIP, PublishOnly: true})
	if err != nil {
		t.Fatalf("join %s: %v", name, err)
	}
	if _, err := p.PublishAudio(leanOpus); err != nil {
		t.Fatalf("publish %s: %v", name, err)
	}
	return p
}

// removedReason waits for p's EventRemoved and returns its reason.
func removedReason(t *testing.T, p room.Participant, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-p.Events():
			if !ok {
				t.Fatalf("%s: events closed without EventRemoved", p.ID())
			}
			if ev.Type == room.EventRemoved {
				return ev.Reason
			}
		case <-deadline:
			t.Fatalf("%s: no EventRemoved after %v", p.ID(), timeout)
		}
	}
}

// TestLiveKitLeanRemoved: LiveKit ending a phone leg's session reaches it
// as EventRemoved with the reason: the gateway's own kick (its reason),
// another RoomService client's (removed), the room deleted (room closed).
// A phone leg has no data channel, so it is no DataPublisher.
func TestLiveKitLeanRemoved(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	b := newLiveKitBackend(t, s)
	ctx := context.Background()
	rs := lksdk.NewRoomServiceClient(s.url(), lkKey, lkSecret)

	kicked := joinLean(t, b, "lean-removed", "kicked")
	defer kicked.Leave("test over")
	if _, ok := kicked.(livekit.DataPublisher); ok {
		t.Error("a phone leg is a DataPublisher, but has no data channel")
	}
	if err := b.RemoveParticipant(ctx, "lean-removed", kicked.ID(), "spam caller"); err != nil {
		t.Fatal(err)
	}
	if r := removedReason(t, kicked, 10*time.Second); r != "spam caller" {
		t.Errorf("kicked by the gateway: reason %q, want %q", r, "spam caller")
	}

	other := joinLean(t, b, "lean-removed", "other")
	defer other.Leave("test over")
	if _, err := rs.RemoveParticipant(ctx, &lkproto.RoomParticipantIdentity{Room: "lean-removed", Identity: other.ID()}); err != nil {
		t.Fatal(err)
	}
	if r := removedReason(t, other, 10*time.Second); r != "removed" {
		t.Errorf("kicked through RoomService: reason %q, want removed", r)
	}

	last := joinLean(t, b, "lean-removed", "last")
	defer last.Leave("test over")
	if _, err := rs.DeleteRoom(ctx, &lkproto.DeleteRoomRequest{Room: "lean-removed"}); err != nil {
		t.Fatal(err)
	}
	if r := removedReason(t, last, 10*time.Second); r != "room closed" {
		t.Errorf("room deleted: reason %q, want room closed", r)
	}
}

// cutProxy is a TCP proxy in front of livekit-server's signalling and API
// port whose connections the test can cut while the server runs on.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(netns.Addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) url() string { return "ws://" + p.ln.Addr().String() }

// cut closes every connection through the proxy; new ones are accepted.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// TestLiveKitLeanSignalLost: a phone leg whose signalling connection to
// LiveKit is lost (its media path still up) ends at once with EventRemoved
// "backend unavailable" rather than hang; the lean client does not resume.
func TestLiveKitLeanSignalLost(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	startLiveKit(t)
	px := newCutProxy(t, net.JoinHostPort(netns.Addr, strconv.Itoa(lkPort)))
	b, err := livekit.New(context.Background(), livekit.Config{URL: px.url(), APIKey: lkKey, APISecret: lkSecret, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	leg := joinLean(t, b, "lean-lost", "leg")
	defer leg.Leave("test over")
	start := time.Now()
	px.cut()
	if r := removedReason(t, leg, 5*time.Second); r != "backend unavailable" {
		t.Errorf("reason %q, want backend unavailable", r)
	}
	t.Logf("leg ended %v after its signalling connection was cut", time.Since(start).Round(time.Millisecond))
}

// TestLiveKitLeanStoppedServer: a phone leg whose LiveKit stops answering
// altogether (SIGSTOP: its sockets stay open, nothing is read) ends by
// the keepalive (ping_timeout) or ICE, within their timeouts, rather than
// hang.
func TestLiveKitLeanStoppedServer(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	b := newLiveKitBackend(t, s)
	leg := joinLean(t, b, "lean-stopped", "leg")
	defer leg.Leave("test over")
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }()
	start := time.Now()
	if r := removedReason(t, leg, 40*time.Second); r != "backend unavailable" {
		t.Errorf("reason %q, want backend unavailable", r)
	}
	t.Logf("leg ended %v after livekit-server stopped", time.Since(start).Round(time.Millisecond))
}

// udpSockets counts this process's UDP sockets (IPv4 and IPv6).
func udpSockets(t *testing.T) int {
	t.Helper()
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/self/net/udp", "/proc/self/net/udp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) > 9 && fs[0] != "sl" {
				inodes[fs[9]] = true
			}
		}
		_ = fh.Close()
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue
		}
		if in, ok := strings.CutPrefix(l, "socket:["); ok && inodes[strings.TrimSuffix(in, "]")] {
			n++
		}
	}
	return n
}

// localIPv4 counts the host's non-loopback IPv4 addresses, where a phone
// leg gathers its one host candidate each.
func localIPv4(t *testing.T) int {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			n++
		}
	}
	return n
}

// TestLiveKitLeanLeaks: n phone legs hold one UDP socket each per local
// IPv4 address (no IPv6, loopback or mDNS sockets), and after they leave
// their goroutines and sockets are all gone, before the backend closes.
func TestLiveKitLeanLeaks(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	b := newLiveKitBackend(t, s)
	// A first leg warms up what lives as long as the backend or the
	// process (the RoomService's HTTP client, pion's package state).
	joinLean(t, b, "lean-leaks", "warm").Leave("warm")
	before := goleak.IgnoreCurrent()
	sock0 := udpSockets(t)
	const n = 8
	legs := make([]room.Participant, n)
	for i := range legs {
		legs[i] = joinLean(t, b, "lean-leaks", "leg")
	}
	if got, want := udpSockets(t)-sock0, n*localIPv4(t); got != want {
		t.Errorf("%d legs hold %d UDP sockets, want %d (one per leg and local IPv4 address)", n, got, want)
	}
	for _, p := range legs {
		if err := p.Leave("bye"); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 5*time.Second, "the legs' UDP sockets closed", func() bool { return udpSockets(t) == sock0 })
	goleak.VerifyNone(t, before,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
}

// eventWatch collects a participant's events for waiting on.
type eventWatch struct {
	mu  sync.Mutex
	evs []room.Event
}

func watchLeanEvents(p room.Participant) *eventWatch {
	w := &eventWatch{}
	go func() {
		for ev := range p.Events() {
			w.mu.Lock()
			w.evs = append(w.evs, ev)
			w.mu.Unlock()
		}
	}()
	return w
}

// has says whether an event matching ok has come.
func (w *eventWatch) has(ok func(room.Event) bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ev := range w.evs {
		if ok(ev) {
			return true
		}
	}
	return false
}

// TestLiveKitLeanEvents: what a phone leg learns of its room and of its
// own tracks reaches it as the SDK's participants had it: others joining
// and leaving, the pin (and its end with the pinned participant), a mute
// by the room API (EventMuted), its own mute shown to others without an
// EventMuted, and the active speakers (another leg's audio level).
func TestLiveKitLeanEvents(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	b := newLiveKitBackend(t, s)
	ctx := context.Background()
	const r = "lean-events"
	leg, err := b.Join(ctx, r, room.ParticipantInfo{Name: "leg", Kind: room.ParticipantKindSIP, PublishOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Leave("test over")
	legAudio, err := leg.PublishAudio(leanOpus)
	if err != nil {
		t.Fatal(err)
	}
	w := watchLeanEvents(leg)
	other, err := b.Join(ctx, r, room.ParticipantInfo{Name: "other", Kind: room.ParticipantKindWebRTC})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "EventParticipantJoined", func() bool {
		return w.has(func(e room.Event) bool {
			return e.Type == room.EventParticipantJoined && e.Participant.ID == other.ID() && e.Participant.Kind == room.ParticipantKindWebRTC
		})
	})
	if err := b.Pin(ctx, r, other.ID()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "EventPinned", func() bool {
		return w.has(func(e room.Event) bool { return e.Type == room.EventPinned && e.Pinned == other.ID() })
	})

	// The leg speaks: its audio level (RFC 6464, which the lean track
	// carries) makes it an active speaker for LiveKit, which tells it
	// (LiveKit tells a participant of the speakers it subscribes to and of
	// itself; a phone leg subscribes to nobody).
	loud := func() bool {
		return w.has(func(e room.Event) bool {
			return e.Type == room.EventActiveSpeakers && slices.Contains(e.Speakers, leg.ID())
		})
	}
	frame := []byte{0xf8, 0xff, 0xfe}
	clock := time.NewTicker(20 * time.Millisecond) // the audio's pace
	deadline := time.After(10 * time.Second)
	for !loud() {
		select {
		case <-deadline:
			t.Fatal("the leg was never told that it speaks")
		case <-clock.C:
			_ = legAudio.(room.AudioLevelWriter).WriteAudioLevel(frame, 20*time.Millisecond, 5)
		}
	}
	clock.Stop()

	mutedListed := func(want bool) func() bool {
		return func() bool {
			ps, err := b.Participants(ctx, r)
			if err != nil {
				return false
			}
			for _, p := range ps {
				if p.ID == leg.ID() {
					return p.AudioMuted == want
				}
			}
			return false
		}
	}
	if err := leg.SetMuted(room.TrackKindAudio, true); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the leg listed as muted", mutedListed(true))
	if err := leg.SetMuted(room.TrackKindAudio, false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the leg listed as unmuted", mutedListed(false))
	if w.has(func(e room.Event) bool { return e.Type == room.EventMuted }) {
		t.Error("EventMuted after the leg muted itself")
	}
	if err := b.MuteParticipant(ctx, r, leg.ID(), room.TrackKindAudio, true); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "EventMuted by the room API", func() bool {
		return w.has(func(e room.Event) bool { return e.Type == room.EventMuted && e.Kind == room.TrackKindAudio && e.Muted })
	})

	if err := other.Leave("bye"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "EventParticipantLeft and the pin's end", func() bool {
		return w.has(func(e room.Event) bool { return e.Type == room.EventParticipantLeft && e.Participant.ID == other.ID() }) &&
			w.has(func(e room.Event) bool { return e.Type == room.EventPinned && e.Pinned == "" })
	})
}
