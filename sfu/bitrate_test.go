package sfu

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/roombridge/roombridge/gateway/room"
)

// nextBitrate waits for the publisher's next EventVideoBitrate and
// checks its value and that it came at least capInterval-ish after the
// previous one (since, when not zero).
func nextBitrate(t *testing.T, p room.Participant, track string, want int) time.Time {
	t.Helper()
	ev := nextEvent(t, p, room.EventVideoBitrate)
	if ev.TrackID != track || ev.Bitrate != want {
		t.Fatalf("video bitrate event %+v, want %d for %s", ev, want, track)
	}
	return time.Now()
}

// TestBitrateCaps: the receivers of a bot's H.264 track limit it — two
// bots through CapVideoBitrate, a WebRTC subscriber through REMB — and
// the publisher is given the least limit, no sooner than capInterval
// after the last; a receiver's limit goes when it leaves, and removing
// the last limit gives 0.
func TestBitrateCaps(t *testing.T) {
	s, url := newTestSFU(t, Config{})
	pub := joinBot(t, s, "r", "room-system", false)
	a := joinBot(t, s, "r", "room-system-a", false)
	b, err := s.Join(t.Context(), "r", room.ParticipantInfo{Name: "room-system-b", Kind: room.ParticipantKindSIP})
	if err != nil {
		t.Fatal(err)
	}
	aTracks, bTracks := trackCh(a), trackCh(b)
	w, err := pub.PublishVideo(room.VideoCodec{MimeType: "video/H264", ClockRate: 90000})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	id := nextTrack(t, aTracks, room.TrackKindVideo).ID()
	nextTrack(t, bTracks, room.TrackKindVideo)
	capper := func(p room.Participant) room.VideoBitrateCapper { return p.(room.VideoBitrateCapper) }

	if err := capper(a).CapVideoBitrate(id, 500_000); err != nil {
		t.Fatal(err)
	}
	last := nextBitrate(t, pub, id, 500_000)
	if err := capper(b).CapVideoBitrate(id, 300_000); err != nil {
		t.Fatal(err)
	}
	at := nextBitrate(t, pub, id, 300_000)
	if d := at.Sub(last); d < capInterval-50*time.Millisecond {
		t.Errorf("second limit %v after the first, want ≥ %v", d, capInterval)
	}
	if err := b.Leave("done"); err != nil {
		t.Fatal(err)
	}
	nextBitrate(t, pub, id, 500_000)
	if err := capper(a).CapVideoBitrate("TR_nope", 1); !errors.Is(err, ErrUnknownTrack) {
		t.Errorf("unknown track: %v", err)
	}

	// A WebRTC subscriber's REMB counts for a bot's track: an equal share
	// of it per SSRC listed.
	c, _ := dialClient(t, url, "r", "web", "")
	key := annexB(randomNAL(0x67, 12), randomNAL(0x68, 4), randomNAL(0x65, 500))
	waitFor(t, 10*time.Second, "the web client receiving the bot's video", func() bool {
		_ = w.WriteVideo(key, 33*time.Millisecond)
		return c.videoSSRC.Load() != 0
	})
	ssrc := c.videoSSRC.Load()
	if err := c.sub.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 480_000, SSRCs: []uint32{ssrc, ssrc + 1}}}); err != nil {
		t.Fatal(err)
	}
	nextBitrate(t, pub, id, 240_000)
	c.close()
	nextBitrate(t, pub, id, 500_000)
	if err := capper(a).CapVideoBitrate(id, 0); err != nil {
		t.Fatal(err)
	}
	nextBitrate(t, pub, id, 0)
}

// TestBitrateCapToWebRTCPublisher: a bot's limit on a browser's video
// reaches the browser as an RTCP REMB naming its SSRC; when the bot
// leaves, a REMB far above any camera's rate lifts it.
func TestBitrateCapToWebRTCPublisher(t *testing.T) {
	s, url := newTestSFU(t, Config{})
	sub, err := s.Join(t.Context(), "r", room.ParticipantInfo{Name: "room-system", Kind: room.ParticipantKindSIP})
	if err != nil {
		t.Fatal(err)
	}
	tracks := trackCh(sub)
	c, _ := dialClient(t, url, "r", "web", "")
	c.publishVideo()
	vt := nextTrack(t, tracks, room.TrackKindVideo)
	if err := sub.(room.VideoBitrateCapper).CapVideoBitrate(vt.ID(), 256_000); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "REMB 256000 at the publisher", func() bool { return c.remb.Load() == 256_000 })
	if err := sub.Leave("done"); err != nil {
		t.Fatal(err)
	}
	// REMB's 18-bit mantissa rounds the rate down a little.
	waitFor(t, 5*time.Second, "the limit lifted", func() bool { return c.remb.Load() > uncappedREMB*99/100 })
}
