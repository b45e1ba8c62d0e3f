package test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/baresip"
	"github.com/roombridge/roombridge/test/internal/chrome"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestBaresipRoomSystems: two baresip room systems (H.264 from their
// avcodec module, fakevideo's colour bars) call room demo of the real
// gateway. The first, alone in the room, decodes the slate (640×360, the
// room's name); the room lists its H.264 track; the second decodes the
// first one's picture (320×240), which went room system → room → room
// system through the embedded SFU.
func TestBaresipRoomSystems(t *testing.T) {
	harness.RequireTool(t, "baresip")
	requireFile(t, "/usr/lib/baresip/modules/avcodec.so", "baresip-ffmpeg")
	srv := startSIPGateway(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "tone.wav")
	if err := baresip.WriteToneWAV(src, 600, 8000, 40); err != nil {
		t.Fatal(err)
	}
	start := func(user, size string) (*baresip.Phone, string) {
		snapshot := filepath.Join(dir, user+".png")
		return baresip.Start(t, baresip.Options{
			User: user, Target: "sip:demo@" + srv.SIPAddr, Source: src, Duration: 20 * time.Second,
			Video: &baresip.Video{Size: size, FPS: 15, Bitrate: 400000, SnapshotRecv: snapshot},
		}), snapshot
	}

	first, firstSnap := start("first", "320x240")
	sipWaitRoom(t, srv, "demo", 15*time.Second, first.Done(), "the first room system's H.264 track",
		func(ps []sipParticipant) bool { return sipVideoTracks(ps) == 1 })
	waitFile(t, firstSnap, 15*time.Second, first)
	img := waitPNG(t, firstSnap)
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
		t.Fatalf("the first room system decoded a %v picture, want the 640×360 slate", b)
	}
	checkSlatePicture(t, img)

	second, secondSnap := start("second", "352x288")
	sipWaitRoom(t, srv, "demo", 15*time.Second, second.Done(), "both room systems' H.264 tracks",
		func(ps []sipParticipant) bool { return sipVideoTracks(ps) == 2 })
	waitFile(t, secondSnap, 15*time.Second, second)
	img = waitPNG(t, secondSnap)
	if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Fatalf("the second room system decoded a %v picture, want the first one's 320×240", b)
	}
	for _, p := range []*baresip.Phone{first, second} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := p.Wait(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// waitFile waits for a file baresip writes, or fails with its output.
func waitFile(t *testing.T, path string, within time.Duration, p *baresip.Phone) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written within %v\n%s", path, within, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBaresipRoomSystemSRTP: a baresip room system whose account takes
// SDES-SRTP only (RTP/SAVP audio and video; over UDP signalling, which the
// trunk allows for the lab) calls room demo: the room API shows its
// encrypted leg receiving its 320×240 pictures and sending it the slate,
// which baresip decodes.
func TestBaresipRoomSystemSRTP(t *testing.T) {
	harness.RequireTool(t, "baresip")
	requireFile(t, "/usr/lib/baresip/modules/avcodec.so", "baresip-ffmpeg")
	requireFile(t, "/usr/lib/baresip/modules/srtp.so", "baresip-core")
	srv := startSIPGateway(t, `
trunks:
  - { name: lab, allow: [127.0.0.0/8], srtp: require, srtp_over_plain: true, trusted: true }
`)
	dir := t.TempDir()
	src := filepath.Join(dir, "tone.wav")
	if err := baresip.WriteToneWAV(src, 600, 8000, 30); err != nil {
		t.Fatal(err)
	}
	snapshot := filepath.Join(dir, "srtp.png")
	phone := baresip.Start(t, baresip.Options{
		User: "srtp", Target: "sip:demo@" + srv.SIPAddr, Source: src, Duration: 12 * time.Second, MediaEnc: "srtp-mand",
		Video: &baresip.Video{Size: "320x240", FPS: 15, Bitrate: 400000, SnapshotRecv: snapshot},
	})
	sipWaitRoom(t, srv, "demo", 15*time.Second, phone.Done(), "its encrypted H.264 arriving",
		func(ps []sipParticipant) bool {
			for _, p := range ps {
				if q := p.Quality; q != nil && q.SRTP && q.Video != nil && q.Video.Width == 320 && q.Video.Height == 240 &&
					q.Video.FramesReceived >= 15 && q.Video.FramesSent > 0 {
					return true
				}
			}
			return false
		})
	waitFile(t, snapshot, 15*time.Second, phone)
	if b := waitPNG(t, snapshot).Bounds(); b.Dx() != 640 || b.Dy() != 360 {
		t.Fatalf("baresip decoded a %v picture over SRTP, want the 640×360 slate", b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := phone.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserSeesRoomSystem: a web client page (Chromium) in room demo of
// the real gateway decodes a baresip room system's H.264 at its size
// (320×240),
// and the room system is switched from the slate to the page's camera
// (the room API counts the switch and the pictures sent).
func TestBrowserSeesRoomSystem(t *testing.T) {
	harness.RequireTool(t, "baresip")
	requireFile(t, "/usr/lib/baresip/modules/avcodec.so", "baresip-ffmpeg")
	srv := startSIPGateway(t)
	b := launchBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	page := openRoomPIN(ctx, t, b, srv.URL, "demo", "alice", harness.DemoPIN)

	dir := t.TempDir()
	src := filepath.Join(dir, "tone.wav")
	if err := baresip.WriteToneWAV(src, 600, 8000, 40); err != nil {
		t.Fatal(err)
	}
	// The page has been in the room a while: its camera is published.
	sipWaitRoom(t, srv, "demo", 15*time.Second, nil, "the page's camera in the room", func(ps []sipParticipant) bool {
		for _, p := range ps {
			for _, tr := range p.Tracks {
				if p.Kind == "webrtc" && tr.Kind == "video" {
					return true
				}
			}
		}
		return false
	})
	// The page notes (on the host's clock) when it first decodes a
	// picture, polling its own stats every 10 ms.
	if _, err := page.Evaluate(ctx, firstDecodedJS); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	phone := baresip.Start(t, baresip.Options{
		User: "room", Target: "sip:demo@" + srv.SIPAddr, Source: src, Duration: 20 * time.Second,
		Video: &baresip.Video{Size: "320x240", FPS: 15, Bitrate: 400000},
	})
	ps, ok := sipWaitRoom(t, srv, "demo", 15*time.Second, phone.Done(), "the room system's H.264 track",
		func(ps []sipParticipant) bool { return sipVideoTracks(ps) == 1 })
	if !ok {
		t.Fatalf("baresip ended before the room listed its H.264 track:\n%s", phone.Output())
	}
	var id string
	for _, p := range ps {
		if p.Kind == "sip" {
			id = p.ID
		}
	}
	waitDecoded(ctx, t, page, id, 1, 320, 240)
	t.Logf("baresip started → its first picture decoded in the page: %v", time.Since(start).Round(time.Millisecond))
	reportFirstPicture(ctx, t, srv, page)
	got := waitDecoded(ctx, t, page, id, 30, 320, 240)
	t.Logf("the page decodes the room system: %+v", got)
	sipWaitRoom(t, srv, "demo", 20*time.Second, phone.Done(), "the page's camera sent to the room system",
		func(ps []sipParticipant) bool {
			for _, p := range ps {
				if q := p.Quality; q != nil && q.Video != nil && q.Video.Switches >= 2 && q.Video.FramesSent > 30 {
					return true
				}
			}
			return false
		})
	if err := phone.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// firstDecodedJS starts a watcher that sets window.firstDecodedAt to
// Date.now() when the page's "sub" connection first decodes video.
const firstDecodedJS = `(() => {
	window.firstDecodedAt = 0;
	const iv = setInterval(async () => {
		const pc = window.roombridge.sub;
		if (!pc) return;
		(await pc.getStats()).forEach(s => {
			if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0 && !window.firstDecodedAt) {
				window.firstDecodedAt = Date.now();
				clearInterval(iv);
			}
		});
	}, 10);
	return true;
})()`

// reportFirstPicture logs the room system's join to first decoded picture
// from the INVITE's arrival at the gateway, with the gateway's milestones
// from its log (the page's clock and the gateway's are the host's).
func reportFirstPicture(ctx context.Context, t *testing.T, srv *harness.Server, page *chrome.Page) {
	t.Helper()
	var ms float64
	if err := page.EvalInto(ctx, `window.firstDecodedAt`, &ms); err != nil || ms == 0 {
		t.Fatalf("first decoded time: %v %v", ms, err)
	}
	decoded := time.UnixMilli(int64(ms))
	steps := callSteps(srv.Logs(), "call answered", "joined the room", "video started", "first keyframe published to the room")
	answered, ok := steps["call answered"]
	if !ok {
		t.Fatalf("no \"call answered\" in the gateway's log")
	}
	invite := answered.at.Add(-answered.setup)
	for _, name := range []string{"call answered", "joined the room", "video started", "first keyframe published to the room"} {
		if st, ok := steps[name]; ok {
			t.Logf("  INVITE → %s: %v", name, st.at.Sub(invite).Round(time.Millisecond))
		}
	}
	t.Logf("INVITE → first picture decoded in the page: %v", decoded.Sub(invite).Round(time.Millisecond))
}

type callStep struct {
	at    time.Time
	setup time.Duration
}

// callSteps finds the first gateway log line (slog text) of each message
// and its time (and setup= duration, if any).
func callSteps(logs string, msgs ...string) map[string]callStep {
	out := map[string]callStep{}
	for _, line := range strings.Split(logs, "\n") {
		for _, m := range msgs {
			if _, seen := out[m]; seen || !strings.Contains(line, `msg="`+m+`"`) {
				continue
			}
			var st callStep
			for _, f := range strings.Fields(line) {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "time":
					st.at, _ = time.Parse(time.RFC3339Nano, v)
				case "setup":
					st.setup, _ = time.ParseDuration(v)
				}
			}
			if !st.at.IsZero() {
				out[m] = st
			}
		}
	}
	return out
}
