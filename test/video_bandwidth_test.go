package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/chrome"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// outboundVideoJS reads the page's H.264 camera as sent: bytes so far,
// the encoder's target and the transport's available bit rate.
const outboundVideoJS = `(async () => {
	const out = {bytes: 0, target: 0, available: 0, codec: '', at: 0};
	const stats = await window.roombridge.pub.getStats();
	stats.forEach(s => {
		if (s.type === 'outbound-rtp' && s.kind === 'video' && (s.framesEncoded || 0) > 0) {
			const c = stats.get(s.codecId);
			if (!c || c.mimeType.toLowerCase() !== 'video/h264') return;
			out.bytes = s.bytesSent; out.target = s.targetBitrate || 0; out.codec = c.mimeType; out.at = s.timestamp;
		}
		if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) out.available = s.availableOutgoingBitrate;
	});
	return out;
})()`

type outboundVideo struct {
	Bytes     float64 `json:"bytes"`
	Target    float64 `json:"target"`
	Available float64 `json:"available"`
	Codec     string  `json:"codec"`
	At        float64 `json:"at"` // ms
}

func readOutbound(ctx context.Context, t *testing.T, p *chrome.Page) outboundVideo {
	t.Helper()
	var o outboundVideo
	if err := p.EvalInto(ctx, outboundVideoJS, &o); err != nil {
		t.Fatalf("[%s] stats: %v", p.Name(), err)
	}
	return o
}

// TestRoomSystemCapsBrowser: a Chromium web client page publishes its
// fake camera in room demo of the real gateway; a sipp room system
// offering b=AS:256 and ccm tmmbr (video_bandwidth.xml) joins, the page
// switches its camera to H.264 for it, the leg gives the page's track
// its 256 kbit/s (the room API says so) and the SFU sends the page an
// RTCP REMB: within seconds the page's transport estimate
// (availableOutgoingBitrate) and its encoder's target are at most 256
// kbit/s and what it sends over 2 s stays under it (with 10 % for a
// keyframe).
func TestRoomSystemCapsBrowser(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	b := launchBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	page := openRoomPIN(ctx, t, b, srv.URL, "demo", "alice", harness.DemoPIN)
	// What the page's transport estimates on its own, for the log.
	var before outboundVideo
	waitUntilCtx(ctx, t, "the page's estimate of its uplink", func() bool {
		err := page.EvalInto(ctx, outboundVideoJS, &before)
		return err == nil && before.Available > 0
	})
	t.Logf("before the room system: available %.0f bit/s", before.Available)

	sipp := sippeer.Start(t, sippeer.Options{
		Scenario: "video_bandwidth.xml", Remote: srv.SIPAddr, Service: "demo", Domain: sipDomain,
		Pause: 15 * time.Second, Timeout: 60 * time.Second,
	})
	wait(ctx, t, page, `window.roombridge.videoCodec === 'video/H264'`)
	_, ok := sipWaitRoom(t, srv, "demo", 20*time.Second, sipp.Done(), "the room system's limit given to the page's camera",
		func(ps []sipParticipant) bool {
			for _, p := range ps {
				if q := p.Quality; q != nil && q.Video != nil && q.Video.SendBitrateCap == 256_000 {
					return true
				}
			}
			return false
		})
	if !ok {
		t.Fatal("sipp ended first")
	}
	capped := time.Now()
	// Under the limit: the encoder's target, and the bytes sent over 2 s.
	const limit = 256_000
	var prev outboundVideo
	var rate float64
	var peak outboundVideo
	waitUntilCtx(ctx, t, "the page's H.264 under 256 kbit/s", func() bool {
		o := readOutbound(ctx, t, page)
		if o.Target > peak.Target {
			peak = o
		}
		if prev.At == 0 || o.At-prev.At < 2000 || !strings.EqualFold(o.Codec, "video/H264") {
			if prev.At == 0 || o.Bytes < prev.Bytes {
				prev = o
			}
			return false
		}
		rate = (o.Bytes - prev.Bytes) * 8 * 1000 / (o.At - prev.At)
		t.Logf("%.1f s after the limit: target %.0f bit/s, sent %.0f bit/s over %.1f s, available %.0f bit/s",
			time.Since(capped).Seconds(), o.Target, rate, (o.At-prev.At)/1000, o.Available)
		prev = o
		return o.Target > 0 && o.Target <= limit && rate <= limit*1.1 && o.Available > 0 && o.Available <= limit
	})
	t.Logf("limit given → the page under it: %v (peak target %.0f bit/s)", time.Since(capped).Round(100*time.Millisecond), peak.Target)
	if time.Since(capped) > 15*time.Second {
		t.Errorf("the page took %v to go under the limit", time.Since(capped))
	}
	code, err := sipp.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if code != sippeer.ExitOK {
		t.Fatalf("sipp: exit %d (%s)", code, sippeer.ExitReason(code))
	}
}
