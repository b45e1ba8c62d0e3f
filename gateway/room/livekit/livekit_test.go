package livekit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lkproto "github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"google.golang.org/protobuf/proto"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/framequeue"
)

// These tests need no livekit-server; the end-to-end ones against a real
// server are in test/livekit_test.go.

// fakeRoomService answers RoomService.ListRooms like LiveKit does, or with
// 401 when the key is wrong, or not at all when down.
type fakeRoomService struct {
	down   atomic.Bool
	reject atomic.Bool
	calls  atomic.Int32
}

func (f *fakeRoomService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	switch {
	case f.down.Load():
		// Drop the connection without an answer, like a dead proxy.
		if hj, ok := w.(http.Hijacker); ok {
			c, _, _ := hj.Hijack()
			_ = c.Close()
		}
	case f.reject.Load():
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":"unauthenticated","msg":"invalid token"}`)
	case strings.HasSuffix(r.URL.Path, "/ListRooms"):
		b, _ := proto.Marshal(&lkproto.ListRoomsResponse{})
		w.Header().Set("Content-Type", "application/protobuf")
		_, _ = w.Write(b)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":"not_found","msg":"room not found"}`)
	}
}

func fakeServer(t *testing.T) (*fakeRoomService, *httptest.Server) {
	f := &fakeRoomService{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestNewChecksServer(t *testing.T) {
	ctx := context.Background()
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "ws://" + ln.Addr().String()
	ln.Close()

	start := time.Now()
	_, err = New(ctx, Config{URL: closed, APIKey: "k", APISecret: "s"})
	if !errors.Is(err, room.ErrUnavailable) {
		t.Errorf("closed port: %v, want room.ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3500*time.Millisecond {
		t.Errorf("closed port took %v", d)
	}

	f, srv := fakeServer(t)
	f.reject.Store(true)
	if _, err := New(ctx, Config{URL: srv.URL, APIKey: "k", APISecret: "s"}); !errors.Is(err, ErrBadCredentials) || errors.Is(err, room.ErrUnavailable) {
		t.Errorf("401: %v, want ErrBadCredentials", err)
	}
	for _, cfg := range []Config{
		{URL: "", APIKey: "k", APISecret: "s"},
		{URL: "sip:host", APIKey: "k", APISecret: "s"},
		{URL: srv.URL, APIKey: "", APISecret: "s"},
	} {
		if _, err := New(ctx, cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v): %v, want ErrConfig", cfg, err)
		}
	}
}

// TestHealth: the cached state follows the server, Join refuses at once
// while it is down, and Close stops the checks.
func TestHealth(t *testing.T) {
	f, srv := fakeServer(t)
	var reachable atomic.Int32
	b, err := New(context.Background(), Config{
		URL: srv.URL, APIKey: "k", APISecret: "s", HealthInterval: 50 * time.Millisecond,
		OnReachable: func(context.Context) { reachable.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Healthy() || b.Ready(context.Background()) != nil {
		t.Fatal("not healthy after a good start")
	}
	f.down.Store(true)
	waitFor(t, "unhealthy", func() bool { return !b.Healthy() })
	if err := b.Ready(context.Background()); !errors.Is(err, room.ErrUnavailable) {
		t.Errorf("Ready while down: %v", err)
	}
	start := time.Now()
	if _, err := b.Join(context.Background(), "r", room.ParticipantInfo{}); !errors.Is(err, room.ErrUnavailable) {
		t.Errorf("Join while down: %v", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("Join while down took %v", d)
	}
	if reachable.Load() != 0 {
		t.Error("OnReachable ran before LiveKit came back")
	}
	f.down.Store(false)
	waitFor(t, "healthy again", b.Healthy)
	// A restarted LiveKit has forgotten its rooms: the gateway is told.
	waitFor(t, "OnReachable", func() bool { return reachable.Load() == 1 })
	f.reject.Store(true)
	waitFor(t, "key rejected", func() bool { return errors.Is(b.Ready(context.Background()), ErrBadCredentials) })

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	n := f.calls.Load()
	time.Sleep(200 * time.Millisecond)
	if f.calls.Load() != n {
		t.Error("health checks go on after Close")
	}
	if _, err := b.Join(context.Background(), "r", room.ParticipantInfo{}); !errors.Is(err, room.ErrClosed) {
		t.Errorf("Join after Close: %v, want room.ErrClosed", err)
	}
}

func TestDirectoryNotFound(t *testing.T) {
	_, srv := fakeServer(t)
	b, err := New(context.Background(), Config{URL: srv.URL, APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	if ps, err := b.Participants(ctx, "nowhere"); err != nil || ps == nil || len(ps) != 0 {
		t.Errorf("Participants of a missing room: %v, %v; want an empty list", ps, err)
	}
	if err := b.MuteParticipant(ctx, "r", "x", room.TrackKindAudio, true); !errors.Is(err, room.ErrParticipantNotFound) {
		t.Errorf("MuteParticipant: %v", err)
	}
	if err := b.RemoveParticipant(ctx, "r", "x", ""); !errors.Is(err, room.ErrParticipantNotFound) {
		t.Errorf("RemoveParticipant: %v", err)
	}
	if err := b.CloseRoom(ctx, "r"); !errors.Is(err, room.ErrRoomNotFound) {
		t.Errorf("CloseRoom: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testTrack is a remoteTrack fed by hand, without a PeerConnection.
func testTrack(kind room.TrackKind, codec string) *remoteTrack {
	n := audioFrameQueue
	if kind == room.TrackKindVideo {
		n = videoFrameQueue
	}
	return &remoteTrack{kind: kind, codec: codec, q: framequeue.New(n)}
}

// packetize turns frames into RTP packets as the writers do.
func packetize(pl rtp.Payloader, frames [][]byte) []*rtp.Packet {
	var out []*rtp.Packet
	seq, ts := uint16(65530), uint32(1000)
	for _, f := range frames {
		payloads := pl.Payload(maxPayload, f)
		for i, p := range payloads {
			out = append(out, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: i == len(payloads)-1}, Payload: p})
			seq++
		}
		ts += 3000
	}
	return out
}

func randomNAL(hdr byte, size int) []byte {
	nal := make([]byte, size)
	nal[0] = hdr
	for i := 1; i < size; i++ {
		nal[i] = byte(1 + rand.IntN(255))
	}
	return nal
}

func annexB(nals ...[]byte) []byte {
	var au []byte
	for _, n := range nals {
		au = append(au, 0, 0, 0, 1)
		au = append(au, n...)
	}
	return au
}

func TestH264Depacketize(t *testing.T) {
	aus := [][]byte{
		annexB(randomNAL(0x67, 12), randomNAL(0x68, 4), randomNAL(0x65, 5000)),
		annexB(randomNAL(0x41, 800)),
		annexB(randomNAL(0x41, 2401), randomNAL(0x41, 1200)),
		annexB(randomNAL(0x41, 300)),
	}
	pkts := packetize(&codecs.H264Payloader{}, aus)
	rt := testTrack(room.TrackKindVideo, "video/H264")
	lostAt := -1
	for i, p := range pkts {
		// Lose the first packet of the third access unit (a FU-A start).
		if lostAt < 0 && p.Timestamp == 1000+2*3000 {
			lostAt = i
			continue
		}
		rt.packet(p)
	}
	rt.close()
	buf := make([]byte, 64<<10)
	var got []room.FrameInfo
	var frames [][]byte
	for {
		n, info, err := rt.ReadFrame(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, info)
		frames = append(frames, append([]byte(nil), buf[:n]...))
	}
	if len(frames) < 3 {
		t.Fatalf("%d frames", len(frames))
	}
	if !bytes.Equal(frames[0], aus[0]) || !got[0].Keyframe || got[0].Gap {
		t.Errorf("frame 0: %d bytes, %+v", len(frames[0]), got[0])
	}
	if !bytes.Equal(frames[1], aus[1]) || got[1].Keyframe || got[1].Timestamp-got[0].Timestamp != 3000 {
		t.Errorf("frame 1: %d bytes, %+v", len(frames[1]), got[1])
	}
	last := len(frames) - 1
	if !bytes.Equal(frames[last], aus[3]) {
		t.Errorf("last frame: %d bytes, want %d", len(frames[last]), len(aus[3]))
	}
	gap := false
	for _, info := range got[2:] {
		gap = gap || info.Gap
	}
	if !gap {
		t.Error("loss not flagged as a gap")
	}
}

func TestVP8Depacketize(t *testing.T) {
	key := append([]byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}, randomNAL(0x01, 3000)...)
	key[0] = 0x10 // key frame: bit 0 clear
	delta := append([]byte{0x31}, randomNAL(0x01, 500)...)
	pkts := packetize(&codecs.VP8Payloader{EnablePictureID: true}, [][]byte{key, delta})
	rt := testTrack(room.TrackKindVideo, "video/VP8")
	for _, p := range pkts {
		rt.packet(p)
	}
	buf := make([]byte, 64<<10)
	n, info, err := rt.ReadFrame(buf)
	if err != nil || !bytes.Equal(buf[:n], key) || !info.Keyframe {
		t.Fatalf("key frame: %d bytes, %+v, %v", n, info, err)
	}
	n, info, err = rt.ReadFrame(buf)
	if err != nil || !bytes.Equal(buf[:n], delta) || info.Keyframe {
		t.Fatalf("delta frame: %d bytes, %+v, %v", n, info, err)
	}
}

func TestAudioQueue(t *testing.T) {
	rt := testTrack(room.TrackKindAudio, "audio/opus")
	for i := range audioFrameQueue + 5 {
		rt.packet(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: []byte{byte(i), 1, 2}})
	}
	small := make([]byte, 2)
	if _, _, err := rt.ReadFrame(small); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("short buffer: %v", err)
	}
	buf := make([]byte, 100)
	n, info, err := rt.ReadFrame(buf)
	if err != nil || n != 3 || buf[0] != 5 || !info.Gap {
		t.Fatalf("after an overflow: %d bytes %v, %+v, %v; want frame 5 flagged as a gap", n, buf[:n], info, err)
	}
	_, info, _ = rt.ReadFrame(buf)
	if info.Gap || info.Timestamp != 6*960 {
		t.Fatalf("next frame %+v", info)
	}
	// A duplicate is dropped; a jump is a gap.
	rt.packet(&rtp.Packet{Header: rtp.Header{SequenceNumber: 3}, Payload: []byte{1}})
	rt.packet(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(audioFrameQueue + 10)}, Payload: []byte{9}})
	for range audioFrameQueue + 5 - 7 {
		if _, _, err := rt.ReadFrame(buf); err != nil {
			t.Fatal(err)
		}
	}
	if n, info, _ := rt.ReadFrame(buf); buf[0] != 9 || n != 1 || !info.Gap {
		t.Fatalf("after a jump: %v %+v", buf[:n], info)
	}
}

func TestMappings(t *testing.T) {
	pi := &lkproto.ParticipantInfo{
		Identity: "sip_x", Name: "Bob", Kind: lkproto.ParticipantInfo_SIP, JoinedAtMs: 1700000000123,
		Attributes: map[string]string{"a": "b"},
		Tracks: []*lkproto.TrackInfo{
			{Sid: "TR_a", Type: lkproto.TrackType_AUDIO, MimeType: "audio/opus", Muted: true},
			{Sid: "TR_v", Type: lkproto.TrackType_VIDEO, MimeType: "video/H264"},
		},
	}
	st := participantState(pi)
	if st.ID != "sip_x" || st.Kind != room.ParticipantKindSIP || !st.AudioMuted || st.VideoMuted || len(st.Tracks) != 2 ||
		st.JoinedAt.UnixMilli() != 1700000000123 || st.Attributes["a"] != "b" || st.Tracks[1].Kind != room.TrackKindVideo {
		t.Errorf("participantState = %+v", st)
	}
	for k, want := range map[lkproto.ParticipantInfo_Kind]room.ParticipantKind{
		lkproto.ParticipantInfo_STANDARD: room.ParticipantKindWebRTC,
		lkproto.ParticipantInfo_SIP:      room.ParticipantKindSIP,
		lkproto.ParticipantInfo_AGENT:    room.ParticipantKindBot,
		lkproto.ParticipantInfo_EGRESS:   room.ParticipantKindBot,
	} {
		if got := roomKind(k); got != want {
			t.Errorf("roomKind(%v) = %v, want %v", k, got, want)
		}
	}
	if lkKind(room.ParticipantKindSIP) != lkproto.ParticipantInfo_SIP || lkKind(room.ParticipantKindBot) != lkproto.ParticipantInfo_STANDARD {
		t.Error("lkKind")
	}
	for r, want := range map[lkproto.DisconnectReason]string{
		lkproto.DisconnectReason_PARTICIPANT_REMOVED: "removed",
		lkproto.DisconnectReason_ROOM_DELETED:        "room closed",
		lkproto.DisconnectReason_SIGNAL_CLOSE:        "backend unavailable",
		lkproto.DisconnectReason_MEDIA_FAILURE:       "media failure",
	} {
		if got := reasonText(r); got != want {
			t.Errorf("reasonText(%v) = %q, want %q", r, got, want)
		}
	}
	for d, want := range map[rune]uint32{'0': 0, '9': 9, '*': 10, '#': 11, 'A': 12, 'D': 15} {
		if got, ok := dtmfCode(d); !ok || got != want {
			t.Errorf("dtmfCode(%q) = %d, %v", d, got, ok)
		}
	}
	if _, ok := dtmfCode('x'); ok {
		t.Error("dtmfCode(x) ok")
	}
	if !isH264Key(annexB([]byte{0x67, 1}, []byte{0x65, 2})) || isH264Key(annexB([]byte{0x41, 5})) {
		t.Error("isH264Key")
	}
}

// BenchmarkH264Receive: the receiving side of a room system's leg on
// LiveKit, per RTP packet: a 12 kB IDR every 30 pictures and 3 kB
// deltas, depacketized into access units and taken from the queue by a
// poller, as the video leg's out loop does.
func BenchmarkH264Receive(b *testing.B) {
	gop := [][]byte{annexB(randomNAL(0x67, 12), randomNAL(0x68, 4), randomNAL(0x65, 12000))}
	for range 29 {
		gop = append(gop, annexB(randomNAL(0x41, 3000)))
	}
	pkts := packetize(&codecs.H264Payloader{}, gop)
	rt := testTrack(room.TrackKindVideo, "video/H264")
	buf := make([]byte, 64<<10)
	seq, ts := uint16(0), uint32(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := pkts[i%len(pkts)]
		if i%len(pkts) == 0 {
			ts += 30 * 3000
		}
		seq++
		p.SequenceNumber, p.Timestamp = seq, ts+p.Timestamp
		rt.packet(p)
		p.Timestamp -= ts
		for {
			if _, _, err := rt.PollFrame(buf); err != nil {
				break
			}
		}
	}
}
