package test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	lkproto "github.com/livekit/protocol/livekit"

	"github.com/roombridge/roombridge/gateway/video"
	"github.com/roombridge/roombridge/test/internal/baresip"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// Room systems' H.264 video with `backend: livekit`: the gateway binary
// and livekit-server in a network namespace (lkgwEnter), a room system
// made here (SIP through gateway/sip/uac, H.264 RTP from an x264 file,
// what it receives depacketized and its picture size read from the SPS),
// and a LiveKit client (the Go SDK) in room demo that publishes a camera
// of its own size and depacketizes what it receives.

// Picture sizes: the room system sends the x264 file, the LiveKit client
// a 320×240 picture, the gateway's slate is 640×360.
const (
	lkvRSWidth, lkvRSHeight         = 320, 180
	lkvClientWidth, lkvClientHeight = 320, 240
)

// TestLiveKitRoomSystemVideo: a room system calls room demo with H.264
// video on `backend: livekit`. Alone with a LiveKit client that has no
// camera, it receives the slate (640×360); once the client publishes, it
// receives the client's H.264 (SPS and IDR: 320×240 pictures). The
// client receives the room system's pictures at the size sent (320×180)
// as the SIP participant's camera track. A keyframe request crosses each
// way: the client's PLI reaches the room system as RTCP PLI and its IDR
// comes back; the room system's PLI reaches the client's camera and its
// IDR comes back. After the hang-up nothing of the call is left in
// LiveKit, no RTP port is held and the gateway's goroutines are back.
func TestLiveKitRoomSystemVideo(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t)
	viewer := joinLKVClient(t, lk)
	before := lkvGoroutines(t, srv)

	dialed := time.Now()
	rs := dialLKVRoomSystem(t, srv, true)
	id := lkvSIPID(t, srv)
	waitUntil(t, 10*time.Second, "the slate at the room system", func() bool {
		got, _ := rs.received()
		return got.bySize[[2]int{video.DefaultSlateWidth, video.DefaultSlateHeight}] >= 2
	})
	waitUntil(t, 10*time.Second, "the room system's pictures at the LiveKit client", func() bool {
		got, _ := viewer.from(id)
		return got.bySize[[2]int{lkvRSWidth, lkvRSHeight}] >= 15 && got.keys >= 1
	})
	got, joined := viewer.from(id)
	t.Logf("INVITE → first picture at the LiveKit client %v; the participant's arrival in the room → first picture %v",
		got.first.Sub(dialed).Round(time.Millisecond), got.first.Sub(joined).Round(time.Millisecond))

	viewer.publish()
	published := time.Now()
	waitUntil(t, 10*time.Second, "the client's camera at the room system", func() bool {
		got, _ := rs.received()
		return got.bySize[[2]int{lkvClientWidth, lkvClientHeight}] >= 10
	})
	rx, _ := rs.received()
	t.Logf("client's camera published → its first picture at the room system %v", rx.firstOf[[2]int{lkvClientWidth, lkvClientHeight}].Sub(published).Round(time.Millisecond))
	if rx.keys < 2 || rx.stats.Lost != 0 {
		t.Errorf("room system: %d keyframes (slate and camera), stats %+v", rx.keys, rx.stats)
	}

	// The client asks the room system for a keyframe.
	plis := rs.plis.Load()
	asked := time.Now()
	viewer.askKeyframe(id)
	waitUntil(t, 5*time.Second, "the client's PLI at the room system", func() bool { return rs.plis.Load() > plis })
	waitUntil(t, 5*time.Second, "the room system's IDR at the client", func() bool {
		got, _ := viewer.from(id)
		return got.lastKey.After(asked)
	})
	got, _ = viewer.from(id)
	t.Logf("client's PLI → the room system's IDR at the client %v", got.lastKey.Sub(asked).Round(time.Millisecond))

	// The room system asks the client for a keyframe.
	plis = viewer.plis.Load()
	asked = time.Now()
	rs.askKeyframe()
	waitUntil(t, 5*time.Second, "the room system's PLI at the client's camera", func() bool { return viewer.plis.Load() > plis })
	waitUntil(t, 5*time.Second, "the client's IDR at the room system", func() bool {
		now, _ := rs.received()
		return now.lastKey.After(asked)
	})
	rx, _ = rs.received()
	t.Logf("room system's PLI → the client's IDR at the room system %v", rx.lastKey.Sub(asked).Round(time.Millisecond))
	if c := lkvCompanions(t, lk); c != 0 {
		t.Errorf("%d receiving companions for a call that joined with video", c)
	}

	rs.hangup()
	lkvNoLeaks(t, lk, srv, before)
}

// TestLiveKitReinviteAddsVideo: a room system that called room demo with
// audio only (a publish-only LiveKit participant, one PeerConnection)
// adds video by re-INVITE: its pictures reach the LiveKit client as its
// camera track and the client's camera reaches it, through a hidden
// companion participant that receives for it. A re-INVITE removing video
// makes the companion leave LiveKit and gives the video ports back (twice);
// a hang-up with video on leaves nothing behind either.
func TestLiveKitReinviteAddsVideo(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t)
	viewer := joinLKVClient(t, lk)
	viewer.publish()
	before := lkvGoroutines(t, srv)

	rs := dialLKVRoomSystem(t, srv, false)
	id := lkvSIPID(t, srv)
	waitMetric(t, srv, "roombridge_rtp_ports_in_use", "1", 5*time.Second)
	if c := lkvCompanions(t, lk); c != 0 {
		t.Fatalf("%d receiving companions for an audio call", c)
	}

	for round := range 2 {
		added := time.Now()
		rs.reinvite(true)
		waitUntil(t, 10*time.Second, "the client's camera at the room system", func() bool {
			got, _ := rs.received()
			return got.bySize[[2]int{lkvClientWidth, lkvClientHeight}] >= 10
		})
		rx, _ := rs.received()
		waitUntil(t, 10*time.Second, "the room system's pictures at the LiveKit client", func() bool {
			got, _ := viewer.from(id)
			return got.bySize[[2]int{lkvRSWidth, lkvRSHeight}] >= 15 && got.first.After(added)
		})
		got, _ := viewer.from(id)
		t.Logf("round %d: re-INVITE adding video → first picture of the client at the room system %v, of the room system at the client %v",
			round, rx.first.Sub(added).Round(time.Millisecond), got.first.Sub(added).Round(time.Millisecond))
		if c := lkvCompanions(t, lk); c != 1 {
			t.Errorf("%d receiving companions while the call has video, want 1", c)
		}
		plis := viewer.plis.Load()
		rs.askKeyframe()
		waitUntil(t, 5*time.Second, "the room system's PLI at the client's camera", func() bool { return viewer.plis.Load() > plis })

		rs.reinvite(false)
		waitUntil(t, 10*time.Second, "the companion gone from LiveKit", func() bool { return lkvCompanions(t, lk) == 0 })
		waitMetric(t, srv, "roombridge_rtp_ports_in_use", "1", 5*time.Second)
		_, n := rs.received()
		waitUntil(t, 5*time.Second, "no more video at the room system", func() bool {
			_, m := rs.received()
			if m != n {
				n = m // in flight when the answer came
				return false
			}
			time.Sleep(300 * time.Millisecond)
			_, m = rs.received()
			return m == n
		})
		// The next round's counts start afresh.
		rs.mu.Lock()
		rs.rx = newLKVPictures()
		rs.mu.Unlock()
	}
	// Hung up with video on: the companion leaves with the call.
	rs.reinvite(true)
	waitUntil(t, 10*time.Second, "the companion in LiveKit again", func() bool { return lkvCompanions(t, lk) == 1 })
	rs.hangup()
	lkvNoLeaks(t, lk, srv, before)
}

// TestLiveKitBaresipRoomSystem: baresip (avcodec H.264, fakevideo's
// colour bars at 352×288) as the room system on `backend: livekit`, in
// the network namespace. Alone with a LiveKit client that has no camera
// it decodes the slate (640×360, the room's name); the client receives
// its pictures at 352×288; once the client publishes, the room API shows
// the room system switched to the client's camera and sent its pictures.
func TestLiveKitBaresipRoomSystem(t *testing.T) {
	harness.RequireTool(t, "baresip")
	requireFile(t, "/usr/lib/baresip/modules/avcodec.so", "baresip-ffmpeg")
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t)
	viewer := joinLKVClient(t, lk)
	before := lkvGoroutines(t, srv)
	dir := t.TempDir()
	src := filepath.Join(dir, "tone.wav")
	if err := baresip.WriteToneWAV(src, 600, 8000, 30); err != nil {
		t.Fatal(err)
	}
	snapshot := filepath.Join(dir, "lk.png")
	start := time.Now()
	phone := baresip.Start(t, baresip.Options{
		User: "room", Target: "sip:demo@" + srv.SIPAddr, Source: src, Duration: 15 * time.Second,
		Video: &baresip.Video{Size: "352x288", FPS: 15, Bitrate: 400000, SnapshotRecv: snapshot},
	})
	id := lkvSIPID(t, srv)
	waitFile(t, snapshot, 15*time.Second, phone)
	img := waitPNG(t, snapshot)
	if b := img.Bounds(); b.Dx() != video.DefaultSlateWidth || b.Dy() != video.DefaultSlateHeight {
		t.Fatalf("baresip decoded a %v picture, want the 640×360 slate", b)
	}
	checkSlatePicture(t, img)
	waitUntil(t, 15*time.Second, "baresip's pictures at the LiveKit client", func() bool {
		got, _ := viewer.from(id)
		return got.bySize[[2]int{352, 288}] >= 15
	})
	got, joined := viewer.from(id)
	t.Logf("baresip started → its first picture at the LiveKit client %v; its arrival in the room → that picture %v",
		got.first.Sub(start).Round(time.Millisecond), got.first.Sub(joined).Round(time.Millisecond))

	viewer.publish()
	sipWaitRoom(t, srv, "demo", 10*time.Second, phone.Done(), "the client's camera sent to baresip",
		func(ps []sipParticipant) bool {
			for _, p := range ps {
				if q := p.Quality; q != nil && q.Video != nil && q.Video.Switches >= 2 && q.Video.FramesSent > 30 && q.Video.Width == 352 {
					return true
				}
			}
			return false
		})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := phone.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	lkvNoLeaks(t, lk, srv, before)
}

// TestLiveKitRoomSystemPin: two LiveKit clients with cameras of different
// sizes (320×240 and 176×144) in room demo; pinning one through the room
// API (a LiveKit participant attribute) switches the room system to its
// picture, pinning the other switches again, each at a keyframe and with
// no RTP packet lost at the room system.
func TestLiveKitRoomSystemPin(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t)
	alice := joinLKVClientAs(t, lk, "alice", 320, 240)
	bob := joinLKVClientAs(t, lk, "bob", 176, 144)
	alice.publish()
	bob.publish()
	rs := dialLKVRoomSystem(t, srv, true)
	lkvSIPID(t, srv)
	for _, c := range []*lkvClient{bob, alice, bob} {
		id := c.room.LocalParticipant.Identity()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		status, body, err := srv.API(ctx, "POST", "/v1/rooms/demo/participants/"+id+"/pin", nil)
		cancel()
		if err != nil || status/100 != 2 {
			t.Fatalf("pin %s: %d %s %v", id, status, body, err)
		}
		pinned := time.Now()
		size := [2]int{c.w, c.h}
		before, _ := rs.received()
		waitUntil(t, 10*time.Second, id+"'s pictures at the room system", func() bool {
			got, _ := rs.received()
			return got.bySize[size] >= before.bySize[size]+5 && got.lastKey.After(pinned)
		})
		got, _ := rs.received()
		t.Logf("pin %s → a keyframe at the room system %v", id, got.lastKey.Sub(pinned).Round(time.Millisecond))
	}
	if got, _ := rs.received(); got.stats.Lost != 0 {
		t.Errorf("the room system lost %d packets across the switches", got.stats.Lost)
	}
	rs.hangup()
}

// TestLiveKitRoomSystemSpeakerSwitch: two LiveKit clients in room demo,
// each with an H.264 camera of its own size (320×240 and 176×144) and an
// Opus microphone whose packets carry their RFC 6464 audio level. The one
// that speaks (a tone) while the other is silent becomes LiveKit's active
// speaker, and the room system switches to its picture: three switches,
// each starting with a keyframe of the new size, no picture of the
// previous speaker after it, and no RTP packet lost at the room system.
func TestLiveKitRoomSystemSpeakerSwitch(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t)
	alice := joinLKVClientAs(t, lk, "alice", 320, 240)
	bob := joinLKVClientAs(t, lk, "bob", 176, 144)
	clients := []*lkvClient{alice, bob}
	for _, c := range clients {
		c.publish()
		c.publishMic()
	}
	rs := dialLKVRoomSystem(t, srv, true)
	lkvSIPID(t, srv)
	sizeOf := func(c *lkvClient) [2]int { return [2]int{c.w, c.h} }
	// Nobody speaks yet: the room system shows one of the cameras.
	var shown *lkvClient
	waitUntil(t, 10*time.Second, "a camera at the room system", func() bool {
		got, _ := rs.received()
		for _, c := range clients {
			if got.shown == sizeOf(c) && got.bySize[sizeOf(c)] >= 5 {
				shown = c
				return true
			}
		}
		return false
	})
	other := func(c *lkvClient) *lkvClient {
		if c == alice {
			return bob
		}
		return alice
	}
	for range 3 {
		c := other(shown)
		id, size, prev := c.room.LocalParticipant.Identity(), sizeOf(c), sizeOf(shown)
		before, _ := rs.received()
		shown.loud.Store(false)
		c.loud.Store(true)
		spoke := time.Now()
		waitUntil(t, 10*time.Second, id+"'s pictures at the room system once it speaks", func() bool {
			got, _ := rs.received()
			return got.shown == size && got.bySize[size] >= before.bySize[size]+10
		})
		got, _ := rs.received()
		changes := got.changes[len(before.changes):]
		if len(changes) != 1 || changes[0].size != size || !changes[0].key {
			t.Fatalf("%s speaks: picture size changes at the room system %+v, want one, from %v to %v at a keyframe", id, changes, prev, size)
		}
		o := other(c)
		o.mu.Lock()
		loudest, at := o.loudest, o.loudestAt
		o.mu.Unlock()
		named := ""
		if loudest == id {
			named = fmt.Sprintf(" (LiveKit named it the loudest speaker at the other client after %v)", at.Sub(spoke).Round(time.Millisecond))
		}
		t.Logf("%s speaks → its first picture (a keyframe) at the room system %v%s", id, changes[0].at.Sub(spoke).Round(time.Millisecond), named)
		shown = c
	}
	if got, _ := rs.received(); got.stats.Lost != 0 {
		t.Errorf("the room system lost %d packets across the switches", got.stats.Lost)
	}
	rs.hangup()
}

// TestLiveKitRoomSystemContent: sipp as a room system sharing content
// (content_offer.xml: a video line a=content:slides besides its main
// video, and BFCP; over TCP) on `backend: livekit`. The H.264 it sends on
// the content line (x264, 320×180) reaches a LiveKit client as the SIP
// participant's track of source SCREEN_SHARE, from a keyframe, no packet
// lost; the re-INVITE dropping the content line unpublishes it.
func TestLiveKitRoomSystemContent(t *testing.T) {
	harness.RequireTool(t, "sipp")
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t)
	viewer := joinLKVClient(t, lk)
	start := time.Now()
	p := startContentSipp(t, srv, "content_offer.xml", 9*time.Second)
	id := lkvSIPID(t, srv)
	waitUntil(t, 15*time.Second, "the room system's content at the LiveKit client as a screen share", func() bool {
		got, _ := viewer.from(id + lkvScreen)
		return got.bySize[[2]int{lkvRSWidth, lkvRSHeight}] >= 20
	})
	got, _ := viewer.from(id + lkvScreen)
	t.Logf("sipp started → its content's first picture at the LiveKit client %v", got.first.Sub(start).Round(time.Millisecond))
	if len(got.changes) == 0 || !got.changes[0].key || got.stats.Lost != 0 {
		t.Errorf("the client's screen share of the room system: first picture %+v, stats %+v", got.changes, got.stats)
	}
	screens := func() int { // -1 when the participant has left
		rp := viewer.room.GetParticipantByIdentity(id)
		if rp == nil {
			return -1
		}
		n := 0
		for _, pub := range rp.TrackPublications() {
			if pub.Source() == lkproto.TrackSource_SCREEN_SHARE {
				n++
			}
		}
		return n
	}
	if n := screens(); n != 1 {
		t.Errorf("%d screen shares of the room system at the LiveKit client, want 1", n)
	}
	waitUntil(t, 20*time.Second, "the screen share unpublished after the re-INVITE dropping content (before the BYE)", func() bool {
		n := screens()
		if n < 0 {
			t.Fatal("the room system left LiveKit with its screen share still published")
		}
		return n == 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sippExitOK(ctx, t, p)
}
