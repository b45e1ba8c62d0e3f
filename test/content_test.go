package test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/roombridge/roombridge/gateway/video"
	"github.com/roombridge/roombridge/test/internal/chrome"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// screenVideoJS is what the page decodes of one participant's shared
// screen (its screen tile), and its frame size.
const screenVideoJS = `(async (owner) => {
	const out = {frames: 0, width: 0, height: 0, codec: ''};
	const tile = document.querySelector('.tile.screen[data-owner="' + owner + '"]');
	const v = tile && tile.querySelector('video');
	const tr = v && v.srcObject && v.srcObject.getVideoTracks()[0];
	if (!tr) return out;
	const stats = await window.roombridge.sub.getStats();
	stats.forEach(s => {
		if (s.type !== 'inbound-rtp' || s.trackIdentifier !== tr.id) return;
		out.frames = s.framesDecoded || 0;
		out.width = s.frameWidth || 0;
		out.height = s.frameHeight || 0;
		const c = stats.get(s.codecId);
		if (c) out.codec = c.mimeType;
	});
	return out;
})`

// waitScreenDecoded waits until the page has decoded n frames of owner's
// shared screen, in its screen tile, at width×height.
func waitScreenDecoded(ctx context.Context, t *testing.T, p *chrome.Page, owner string, n float64, width, height int) remoteVideo {
	t.Helper()
	return waitVideoStats(ctx, t, p, screenVideoJS, owner, n, width, height)
}

// contentRoom starts the gateway and a Chromium page named name in room
// demo, for a test of a minute and a half at most.
func contentRoom(t *testing.T, name string) (context.Context, *harness.Server, *chrome.Page) {
	t.Helper()
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	b := launchBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx, srv, openRoomPIN(ctx, t, b, srv.URL, "demo", name, harness.DemoPIN)
}

// startContentSipp starts sipp as a room system calling room demo over
// TCP (its INVITE with two video lines and BFCP is over 1300 bytes).
func startContentSipp(t *testing.T, srv *harness.Server, scenario string, pause time.Duration, args ...string) *sippeer.Process {
	t.Helper()
	return sippeer.Start(t, sippeer.Options{
		Scenario: scenario, Remote: srv.SIPAddr, Service: "demo", Domain: sipDomain, Transport: "tcp",
		Pause: pause, Timeout: pause + 25*time.Second, Args: args,
	})
}

// sippExitOK waits for sipp to end and fails t unless all went well.
func sippExitOK(ctx context.Context, t *testing.T, p *sippeer.Process) {
	t.Helper()
	code, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if code != sippeer.ExitOK {
		t.Fatalf("sipp: exit %d (%s)\n%s", code, sippeer.ExitReason(code), p.Report())
	}
}

// sipSources returns the sources ("camera", "screen") of the video tracks
// of the room's SIP participant, and its id.
func sipSources(ps []sipParticipant) (id string, sources []string) {
	for _, p := range ps {
		if p.Kind != "sip" {
			continue
		}
		id = p.ID
		for _, tr := range p.Tracks {
			if tr.Kind == "video" {
				sources = append(sources, tr.Source)
			}
		}
	}
	return id, sources
}

// TestSippContent: sipp as a room system sharing content (the INVITE of
// a Cisco or Poly endpoint: a content stream a=content:slides, its main
// video, BFCP; over TCP) against the real gateway. Both video lines and
// BFCP (as floor control server) are answered on real ports; the H.264
// sipp sends on the content
// line (content_h264.pcap: x264, 320×180, 15 fps) is published as a
// screen-share track of the room system, which a Chromium page in the
// room decodes in its screen tile at 320×180; the room API counts the
// content's pictures. A re-INVITE dropping the content line is answered
// with port 0 and the screen track leaves the room.
func TestSippContent(t *testing.T) {
	ctx, srv, page := contentRoom(t, "alice")
	start := time.Now()
	p := startContentSipp(t, srv, "content_offer.xml", 9*time.Second)
	ps, ok := sipWaitRoom(t, srv, "demo", 10*time.Second, p.Done(), "the room system's camera and screen tracks",
		func(ps []sipParticipant) bool {
			_, src := sipSources(ps)
			return len(src) == 2 && (src[0] == "screen") != (src[1] == "screen")
		})
	if !ok {
		t.Fatalf("sipp ended before the room listed its tracks:\n%s", p.Report())
	}
	id, _ := sipSources(ps)
	waitScreenDecoded(ctx, t, page, id, 1, 320, 180)
	t.Logf("sipp started → its content's first picture decoded in the page: %v", time.Since(start).Round(time.Millisecond))
	got := waitScreenDecoded(ctx, t, page, id, 20, 320, 180)
	t.Logf("the page decodes the room system's content: %+v", got)
	sipWaitRoom(t, srv, "demo", 10*time.Second, p.Done(), "the content's pictures in the room API",
		func(ps []sipParticipant) bool {
			for _, p := range ps {
				if q := p.Quality; q != nil && q.Content != nil {
					c := q.Content
					return c.FramesReceived >= 30 && c.Width == 320 && c.Height == 180 && c.PacketsLost == 0
				}
			}
			return false
		})
	sipWaitRoom(t, srv, "demo", 15*time.Second, p.Done(), "the screen track gone after the re-INVITE",
		func(ps []sipParticipant) bool {
			_, src := sipSources(ps)
			return len(src) == 1 && src[0] == "camera"
		})
	sippExitOK(ctx, t, p)
}

// contentPort is a room system's content port: it depacketizes the H.264
// the gateway sends there and counts the pictures by size.
type contentPort struct {
	conn *net.UDPConn
	wg   sync.WaitGroup

	mu      sync.Mutex
	depack  *video.Depacketizer
	sizes   map[[2]int]int
	firstAt time.Time
	first   bool // the first picture was a keyframe
}

func listenContent(t *testing.T) *contentPort {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := &contentPort{conn: conn, sizes: map[[2]int]int{}}
	c.depack = video.NewDepacketizer(c.onAU, 0)
	c.wg.Add(1)
	go c.read()
	t.Cleanup(func() {
		_ = conn.Close()
		c.wg.Wait()
	})
	return c
}

func (c *contentPort) port() int { return c.conn.LocalAddr().(*net.UDPAddr).Port }

func (c *contentPort) read() {
	defer c.wg.Done()
	buf := make([]byte, 1600)
	for {
		n, err := c.conn.Read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		c.mu.Lock()
		c.depack.Push(&p)
		c.mu.Unlock()
	}
}

// onAU runs under c.mu, within Push.
func (c *contentPort) onAU(au video.AccessUnit) {
	if c.firstAt.IsZero() {
		c.firstAt, c.first = time.Now(), au.Keyframe
	}
	if sps, ok := c.depack.Params().SPS(); ok {
		c.sizes[[2]int{sps.Width, sps.Height}]++
	}
}

// stats returns the depacketizer's counts and the pictures by size.
func (c *contentPort) stats() (video.DepacketizerStats, map[[2]int]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sizes := make(map[[2]int]int, len(c.sizes))
	for k, v := range c.sizes {
		sizes[k] = v
	}
	return c.depack.Stats(), sizes
}

// TestBrowserScreenToRoomSystem: a Chromium page in the room shares its
// screen (Chromium's fake capture) while a room system (sipp's
// signalling, the test's UDP socket as its content port) is in the room:
// the screen reaches the room system's content port as H.264, starting
// with a keyframe, at the size the page encodes, without a lost packet;
// stopping the share stops it.
func TestBrowserScreenToRoomSystem(t *testing.T) {
	ctx, srv, page := contentRoom(t, "sharer")
	content := listenContent(t)
	p := startContentSipp(t, srv, "content_receive.xml", 25*time.Second, "-key", "slides_port", strconv.Itoa(content.port()))
	if _, ok := sipWaitRoom(t, srv, "demo", 10*time.Second, p.Done(), "the room system's video tracks",
		func(ps []sipParticipant) bool { _, src := sipSources(ps); return len(src) == 2 }); !ok {
		t.Fatalf("sipp ended before the room system joined:\n%s", p.Report())
	}
	if st, _ := content.stats(); st.Frames != 0 {
		t.Errorf("the content port got %d pictures before anyone shared", st.Frames)
	}

	start := time.Now()
	mustEval(ctx, t, page, `document.getElementById('screen').click()`)
	wait(ctx, t, page, `window.roombridge.screen !== null`)
	var size [2]int
	waitUntilCtx(ctx, t, "10 pictures of the shared screen at the room system's content port, at the size the page sends", func() bool {
		var sent []int
		if err := page.EvalInto(ctx, `(async () => {
			const s = window.roombridge.pub.getSenders().find(s => s.track && s.track.id === window.roombridge.screen);
			if (!s) return [0, 0];
			let out = [0, 0];
			(await s.getStats()).forEach(r => { if (r.type === 'outbound-rtp') out = [r.frameWidth || 0, r.frameHeight || 0]; });
			return out;
		})()`, &sent); err != nil {
			t.Fatal(err)
		}
		size = [2]int{sent[0], sent[1]}
		_, sizes := content.stats()
		return size[0] > 0 && sizes[size] >= 10
	})
	content.mu.Lock()
	firstAt, firstKey := content.firstAt, content.first
	content.mu.Unlock()
	t.Logf("share clicked → its first picture at the room system's content port: %v (%dx%d)", firstAt.Sub(start).Round(time.Millisecond), size[0], size[1])
	if !firstKey {
		t.Error("the first picture at the content port was not a keyframe")
	}
	if st, _ := content.stats(); st.Lost != 0 || st.Dropped != 0 {
		t.Errorf("content port received %+v", st)
	}

	mustEval(ctx, t, page, `document.getElementById('screen').click()`)
	wait(ctx, t, page, `window.roombridge.screen === null`)
	last, since := uint64(0), time.Now()
	waitUntilCtx(ctx, t, "the content port quiet for 2 s after the share ended", func() bool {
		if st, _ := content.stats(); st.Frames != last {
			last, since = st.Frames, time.Now()
		}
		return time.Since(since) >= 2*time.Second
	})

	sippExitOK(ctx, t, p)
}

// TestSippDelayedOfferContent: to a delayed offer (an INVITE without SDP)
// the gateway offers the content stream (a=content:slides) only where
// the 200 OK can carry it: over TCP, not over UDP, where the offer with
// two video lines would not fit a datagram. Both calls go on with audio
// and video (sipp answers without the content line, which counts as
// rejected).
func TestSippDelayedOfferContent(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	for _, tc := range []struct {
		transport string
		slides    bool
	}{{"udp", false}, {"tcp", true}} {
		t.Run(tc.transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			p := sippeer.Start(t, sippeer.Options{
				Scenario: "delayed_offer_video.xml", Remote: srv.SIPAddr, Service: "demo", Domain: sipDomain,
				Transport: tc.transport, Pause: time.Second, Timeout: 30 * time.Second,
			})
			sippExitOK(ctx, t, p)
			if got := strings.Contains(p.Messages(), "a=content:slides"); got != tc.slides {
				t.Errorf("content line in the offer over %s: %v, want %v\n%s", tc.transport, got, tc.slides, p.Messages())
			}
			sipWaitRoom(t, srv, "demo", 5*time.Second, nil, "the room system leaves",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })
		})
	}
}
