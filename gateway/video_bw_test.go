package gateway

import (
	"slices"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
)

// TestRoomSystemBandwidth: a room system offering b=TIAS 256000 and
// bit-rate feedback (ccm tmmbr, or goog-remb) calls a room with a camera
// and a viewer.
//
//   - Room system → room: its b=TIAS becomes the camera's limit once the
//     camera is shown to it; its TMMBR (confirmed by a TMMBN naming it)
//     or REMB lowers that; the room API shows the limit in effect; when
//     it hangs up, the camera's limit goes; a re-INVITE's lower b=TIAS
//     lowers it.
//   - Room → room system: the viewer's limit on the room system's
//     picture reaches it as TMMBR (or REMB) about its stream, and when
//     lifted, it is told the gateway's own b=TIAS.
//
// Both ways, the messages are counted per leg and in Prometheus.
func TestRoomSystemBandwidth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tmmbr bool
	}{{"tmmbr", true}, {"remb", false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := videoFixture(t, sip.Trunk{Name: "local", Allow: loopback, Trusted: true})
			viewer := joinViewer(t, f)
			camera := startCamera(t, f, "x264-320x180-15fps.h264")
			ag := newAgent(t)
			p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440, video: videoOpts{on: true, bitrate: 256_000, tmmbr: tc.tmmbr, remb: !tc.tmmbr}})
			if code != 200 {
				t.Fatalf("INVITE: %d", code)
			}
			var fbs []string
			for _, fb := range p.answer.Video.RTCPFb {
				fbs = append(fbs, fb.Type+" "+fb.Param)
			}
			want := "goog-remb "
			if tc.tmmbr {
				want = "ccm tmmbr"
			}
			if !slices.Contains(fbs, want) {
				t.Fatalf("answered rtcp-fb %q, want %q among them", fbs, want)
			}

			// Room system → room.
			start := time.Now()
			waitUntil(t, 10*time.Second, "the camera limited to the room system's 256 kbit/s", func() bool { return camera.bitrate.Load() == 256_000 })
			t.Logf("call → camera limited: %v", time.Since(start).Round(time.Millisecond))
			var id string
			waitUntil(t, 10*time.Second, "the room system's picture in the room", func() bool {
				id, _, _, _, _ = viewer.other("camera")
				return id != ""
			})
			quality := func() *VideoQuality {
				q, ok := f.gw.Quality("demo", id)
				if !ok || q.Video == nil {
					t.Fatalf("no video quality for %s", id)
				}
				return q.Video
			}
			if q := quality(); q.SendBitrateCap != 256_000 {
				t.Errorf("send_bitrate_cap %d, want 256000", q.SendBitrateCap)
			}
			if err := p.video.sendBitrate(150_000, tc.tmmbr); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			waitUntil(t, 5*time.Second, "the camera limited to 150 kbit/s", func() bool { return camera.bitrate.Load() == 150_000 })
			t.Logf("TMMBR/REMB → camera limited: %v", time.Since(sent).Round(time.Millisecond))
			if tc.tmmbr {
				waitUntil(t, 5*time.Second, "a TMMBN confirming 150 kbit/s", func() bool { return p.video.tmmbn.Load() == 150_000 })
			}
			if q := quality(); q.SendBitrateCap != 150_000 || q.BandwidthMessagesReceived == 0 {
				t.Errorf("video quality %+v", *q)
			}
			// A re-INVITE with a lower b=TIAS lowers it again.
			if code, _ := p.reinviteVideo(func(o *sdp.Session) { o.Video.Bitrate = 100_000 }); code != 200 {
				t.Fatalf("re-INVITE: %d", code)
			}
			waitUntil(t, 5*time.Second, "the camera limited to the re-INVITE's 100 kbit/s", func() bool { return camera.bitrate.Load() == 100_000 })

			// Room → room system.
			track := func() string {
				viewer.mu.Lock()
				defer viewer.mu.Unlock()
				return viewer.tracks[id]
			}()
			capper := viewer.part.(room.VideoBitrateCapper)
			if err := capper.CapVideoBitrate(track, 200_000); err != nil {
				t.Fatal(err)
			}
			got := &p.video.remb
			if tc.tmmbr {
				got = &p.video.tmmbr
			}
			waitUntil(t, 5*time.Second, "the room's limit at the room system", func() bool { return got.Load() == 200_000 })
			waitUntil(t, 2*time.Second, "receive_bitrate_cap", func() bool { return quality().ReceiveBitrateCap == 200_000 })
			if err := capper.CapVideoBitrate(track, 0); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, 5*time.Second, "the limit lifted to the gateway's own 2 Mbit/s", func() bool { return got.Load() == 2_000_000 })
			if q := quality(); q.ReceiveBitrateCap != 0 || q.BandwidthMessagesSent < 2 {
				t.Errorf("video quality %+v", *q)
			}
			kind := "remb"
			if tc.tmmbr {
				kind = "tmmbr"
			}
			if n := f.metricWith("roombridge_video_bandwidth_messages_total", "received", kind); n < 1 {
				t.Errorf("%v %s received counted", n, kind)
			}
			if n := f.metricWith("roombridge_video_bandwidth_messages_total", "sent", kind); n < 2 {
				t.Errorf("%v %s sent counted", n, kind)
			}

			// The room system leaves: the camera is free again.
			p.hangup()
			waitUntil(t, 5*time.Second, "the camera's limit lifted", func() bool { return camera.bitrate.Load() == 0 })
			f.waitIdle()
		})
	}
}
