package test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/video"
	"github.com/roombridge/roombridge/sfu"
	"github.com/roombridge/roombridge/test/internal/chrome"
)

// Web client and room-system video on the embedded SFU: an in-process
// bot stands for a room system's leg (it takes video only, so the room
// prefers H.264, and publishes a real x264 stream); headless Chromium runs
// the room page.

// sfuPageServer serves the room page and the SFU's signalling.
func sfuPageServer(t *testing.T) (*sfu.SFU, string) {
	t.Helper()
	s, err := sfu.New(sfu.Config{
		Logger:          slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		IncludeLoopback: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/rtc", s.SignalHandler())
	mux.Handle("/", webClient())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("sfu close: %v", err)
		}
	})
	return s, srv.URL
}

// roomSystem is a bot standing for a room system's leg: it receives the
// room's video (kind filter video) and publishes an H.264 file in a loop,
// starting over at its first access unit (SPS, PPS, IDR) when a
// subscriber asks for a keyframe.
type roomSystem struct {
	p        room.Participant
	tracks   chan room.RemoteTrack
	keyAsked chan string // track ids of keyframe requests
}

func joinRoomSystem(t *testing.T, s *sfu.SFU, roomName, name string) *roomSystem {
	t.Helper()
	p, err := s.Join(context.Background(), roomName, room.ParticipantInfo{Name: name, Kind: room.ParticipantKindSIP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Leave("test over") })
	rs := &roomSystem{p: p, tracks: make(chan room.RemoteTrack, 16), keyAsked: make(chan string, 64)}
	p.(room.KindFilter).SetKindFilter(room.TrackKindVideo)
	p.OnTrack(func(rt room.RemoteTrack) { rs.tracks <- rt })
	return rs
}

// publish sends file's access units at fps until the test ends.
func (rs *roomSystem) publish(t *testing.T, file string, fps int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	aus := video.SplitAccessUnits(data)
	if len(aus) < 10 {
		t.Fatalf("%s: %d access units", file, len(aus))
	}
	w, err := rs.p.PublishVideo(room.VideoCodec{MimeType: "video/H264", ClockRate: 90000, Source: room.TrackSourceCamera})
	if err != nil {
		t.Fatal(err)
	}
	restart := make(chan struct{}, 1)
	go func() {
		for ev := range rs.p.Events() {
			if ev.Type == room.EventKeyframeRequested {
				select {
				case rs.keyAsked <- ev.TrackID:
				default:
				}
				select {
				case restart <- struct{}{}:
				default:
				}
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	dur := time.Second / time.Duration(fps)
	go func() {
		defer close(done)
		tick := time.NewTicker(dur)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-restart:
				i = 0
			case <-tick.C:
			}
			if w.WriteVideo(aus[i%len(aus)], dur) != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// nextVideo waits for a video track of the page's participant with source.
func (rs *roomSystem) nextVideo(ctx context.Context, t *testing.T, from string, source room.TrackSource) room.RemoteTrack {
	t.Helper()
	for {
		select {
		case rt := <-rs.tracks:
			st, _ := rt.(room.SourcedTrack)
			if rt.Kind() == room.TrackKindVideo && rt.ParticipantID() == from && st != nil && st.Source() == source {
				return rt
			}
			t.Logf("room system given %v track %s of %s (%s)", rt.Kind(), rt.ID(), rt.ParticipantID(), rt.Codec())
		case <-ctx.Done():
			t.Fatalf("no %v video track of %s reached the room system", source, from)
			return nil
		}
	}
}

// frameReader reads a remote video track in the background, counting
// frames and keyframes.
type frameReader struct {
	mu      sync.Mutex
	frames  int
	keys    int
	lastKey time.Time
	err     error
	done    chan struct{}
}

func readFrames(rt room.RemoteTrack) *frameReader {
	fr := &frameReader{done: make(chan struct{})}
	go func() {
		defer close(fr.done)
		buf := make([]byte, 1<<20)
		for {
			_, info, err := rt.ReadFrame(buf)
			fr.mu.Lock()
			if err != nil {
				fr.err = err
				fr.mu.Unlock()
				return
			}
			fr.frames++
			if info.Keyframe {
				fr.keys++
				fr.lastKey = time.Now()
			}
			fr.mu.Unlock()
		}
	}()
	return fr
}

func (fr *frameReader) counts() (frames, keys int, lastKey time.Time) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return fr.frames, fr.keys, fr.lastKey
}

func (fr *frameReader) ended() bool {
	select {
	case <-fr.done:
		return errors.Is(fr.err, io.EOF)
	default:
		return false
	}
}

func waitUntilCtx(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// remoteVideoJS sums what the page decodes of the video tracks of one
// participant (by its tile), and their frame size.
const remoteVideoJS = `(async (owner) => {
	const out = {frames: 0, width: 0, height: 0, codec: ''};
	const pc = window.roombridge.sub;
	if (!pc) return out;
	const ids = new Set(pc.getReceivers().filter(r => r.track && r.track.kind === 'video').map(r => r.track.id));
	const stats = await pc.getStats();
	stats.forEach(s => {
		if (s.type !== 'inbound-rtp' || s.kind !== 'video' || !ids.has(s.trackIdentifier)) return;
		const recv = pc.getReceivers().find(r => r.track && r.track.id === s.trackIdentifier);
		const p = window.roombridge.participants[owner];
		if (!p || !(p.tracks || []).some(t => t.id === s.trackIdentifier)) return;
		out.frames += s.framesDecoded || 0;
		out.width = s.frameWidth || out.width;
		out.height = s.frameHeight || out.height;
		const c = stats.get(s.codecId);
		if (c) out.codec = c.mimeType;
	});
	return out;
})`

type remoteVideo struct {
	Frames float64 `json:"frames"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Codec  string  `json:"codec"`
}

// waitDecoded waits until the page has decoded at least n frames of
// owner's video at width×height.
func waitDecoded(ctx context.Context, t *testing.T, p *chrome.Page, owner string, n float64, width, height int) remoteVideo {
	t.Helper()
	return waitVideoStats(ctx, t, p, remoteVideoJS, owner, n, width, height)
}

// waitVideoStats waits until js (remoteVideoJS or the like) says the page
// has decoded at least n frames of owner's video at width×height (any
// size when width is 0).
func waitVideoStats(ctx context.Context, t *testing.T, p *chrome.Page, js, owner string, n float64, width, height int) remoteVideo {
	t.Helper()
	var last remoteVideo
	for {
		if err := p.EvalInto(ctx, js+"("+jsString(owner)+")", &last); err != nil {
			t.Fatalf("[%s] stats: %v", p.Name(), err)
		}
		if last.Frames >= n && (width == 0 || last.Width == width && last.Height == height) {
			return last
		}
		select {
		case <-ctx.Done():
			t.Fatalf("[%s] decoded %+v of %s, want %v frames at %dx%d", p.Name(), last, owner, n, width, height)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// outboundCodec is the codec of the page's published camera.
func outboundCodecs(ctx context.Context, t *testing.T, p *chrome.Page) []string {
	t.Helper()
	var codecs []string
	err := p.EvalInto(ctx, `(async () => {
		const out = [];
		const stats = await window.roombridge.pub.getStats();
		stats.forEach(s => {
			if (s.type === 'outbound-rtp' && s.kind === 'video' && (s.framesEncoded || 0) > 0) {
				const c = stats.get(s.codecId);
				out.push(c ? c.mimeType : '');
			}
		});
		return out;
	})()`, &codecs)
	if err != nil {
		t.Fatal(err)
	}
	return codecs
}

const x264File = "../gateway/video/testdata/x264-320x180-15fps.h264"

// TestWebClientRoomSystemVideo: a page that joined before the room system
// publishes its camera again as H.264 once the room system arrives (the
// video_codec message), and the room system receives it as H.264, with an
// IDR after its keyframe request; the page decodes the room system's
// H.264 at its size; the page's subscription asks the room system for a
// keyframe.
func TestWebClientRoomSystemVideo(t *testing.T) {
	b := launchBrowser(t)
	s, base := sfuPageServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	page := openRoom(ctx, t, b, base, "demo", "alice")
	var self string
	if err := page.EvalInto(ctx, `window.roombridge.self.id`, &self); err != nil {
		t.Fatal(err)
	}

	rs := joinRoomSystem(t, s, "demo", "Room System")
	wait(ctx, t, page, `window.roombridge.videoCodec === 'video/H264'`)
	rs.publish(t, x264File, 15)
	waitParticipant(ctx, t, page, "Room System")

	got := waitDecoded(ctx, t, page, rs.p.ID(), 30, 320, 180)
	t.Logf("page decodes the room system: %+v", got)
	if !strings.EqualFold(got.Codec, "video/H264") {
		t.Errorf("page receives %q, want video/H264", got.Codec)
	}
	select {
	case id := <-rs.keyAsked:
		t.Logf("keyframe requested of the room system's track %s", id)
	case <-ctx.Done():
		t.Fatal("the page's subscription asked the room system for no keyframe")
	}

	rt := rs.nextVideo(ctx, t, self, room.TrackSourceCamera)
	if !strings.EqualFold(rt.Codec(), "video/H264") {
		t.Fatalf("the room system receives the page's camera as %q, want video/H264", rt.Codec())
	}
	fr := readFrames(rt)
	waitUntilCtx(ctx, t, "30 frames and a keyframe of the page's H.264", func() bool {
		f, k, _ := fr.counts()
		return f >= 30 && k >= 1
	})
	if codecs := outboundCodecs(ctx, t, page); len(codecs) != 1 || !strings.EqualFold(codecs[0], "video/H264") {
		t.Errorf("page encodes %q, want one H.264 camera", codecs)
	}
	asked := time.Now()
	if err := rs.p.RequestKeyframe(rt.ID()); err != nil {
		t.Fatal(err)
	}
	waitUntilCtx(ctx, t, "an IDR from the page after the keyframe request", func() bool {
		_, _, last := fr.counts()
		return last.After(asked)
	})
}

// TestWebClientScreenShare: the "Share screen" button publishes a screen
// track the room knows as one: the room system is given it as a screen
// share in H.264, another page shows it in a screen tile of its own and
// decodes it, and stopping the share ends the track on both.
func TestWebClientScreenShare(t *testing.T) {
	b := launchBrowser(t)
	s, base := sfuPageServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	rs := joinRoomSystem(t, s, "demo", "Room System")
	sharer := openRoom(ctx, t, b, base, "demo", "sharer")
	viewer := openRoom(ctx, t, b, base, "demo", "viewer")
	var sharerID string
	if err := sharer.EvalInto(ctx, `window.roombridge.self.id`, &sharerID); err != nil {
		t.Fatal(err)
	}
	waitParticipant(ctx, t, viewer, "sharer")

	mustEval(ctx, t, sharer, `document.getElementById('screen').click()`)
	wait(ctx, t, sharer, `window.roombridge.screen !== null && document.getElementById('screen').textContent === 'Stop sharing'`)

	rt := rs.nextVideo(ctx, t, sharerID, room.TrackSourceScreen)
	if !strings.EqualFold(rt.Codec(), "video/H264") {
		t.Errorf("screen share reaches the room system as %q, want video/H264", rt.Codec())
	}
	fr := readFrames(rt)
	waitUntilCtx(ctx, t, "frames of the screen share at the room system", func() bool {
		f, k, _ := fr.counts()
		return f >= 10 && k >= 1
	})
	sel := `document.querySelector('.tile.screen[data-owner=` + jsString(sharerID) + `]')`
	wait(ctx, t, viewer, sel+` !== null && `+sel+`.querySelector('.name').textContent === 'sharer (screen)'`)
	var frames float64
	waitUntilCtx(ctx, t, "the viewer decoding the screen tile", func() bool {
		if err := viewer.EvalInto(ctx, `(async () => {
			const v = `+sel+`.querySelector('video');
			const tr = v.srcObject && v.srcObject.getVideoTracks()[0];
			if (!tr) return 0;
			let n = 0;
			(await window.roombridge.sub.getStats()).forEach(s => {
				if (s.type === 'inbound-rtp' && s.trackIdentifier === tr.id) n = s.framesDecoded || 0;
			});
			return n;
		})()`, &frames); err != nil {
			t.Fatal(err)
		}
		return frames >= 10
	})
	ps, err := s.Participants(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	var screens int
	for _, p := range ps {
		for _, tr := range p.Tracks {
			if tr.Source == room.TrackSourceScreen {
				screens++
			}
		}
	}
	if screens != 1 {
		t.Errorf("listing shows %d screen tracks, want 1: %+v", screens, ps)
	}

	mustEval(ctx, t, sharer, `document.getElementById('screen').click()`)
	waitUntilCtx(ctx, t, "the screen track ending at the room system", fr.ended)
	wait(ctx, t, viewer, sel+` === null`)
	wait(ctx, t, sharer, `window.roombridge.screen === null && document.getElementById('screen').textContent === 'Share screen'`)
}

// TestWebClientH264SingleNAL: a room system whose pictures come in slices
// that each fit one packet (what packetization-mode 0 endpoints send) is
// forwarded as single NAL unit packets, and Chromium decodes it at its
// size.
func TestWebClientH264SingleNAL(t *testing.T) {
	b := launchBrowser(t)
	s, base := sfuPageServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	const sliced = "../gateway/video/testdata/x264-320x180-15fps-sliced.h264"
	data, err := os.ReadFile(sliced)
	if err != nil {
		t.Fatal(err)
	}
	// Every NAL unit fits one packet's payload (1200 bytes): the SFU
	// forwards each as a single NAL unit packet, no FU-A.
	nals := 0
	for nal, rest := video.NextNAL(data); nal != nil || rest != nil; nal, rest = video.NextNAL(rest) {
		if len(nal) > 1200 {
			t.Fatalf("%s has a %d-byte NAL unit", sliced, len(nal))
		}
		nals++
	}
	rs := joinRoomSystem(t, s, "demo", "Room System")
	rs.publish(t, sliced, 15)
	page := openRoom(ctx, t, b, base, "demo", "alice")
	waitParticipant(ctx, t, page, "Room System")
	got := waitDecoded(ctx, t, page, rs.p.ID(), 45, 320, 180)
	t.Logf("page decodes the sliced stream (%d NAL units a loop): %+v", nals, got)
}
