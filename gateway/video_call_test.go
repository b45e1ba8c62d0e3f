package gateway

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/internal/leakcheck"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/video"
)

var videoTrunk = sip.Trunk{Name: "local", Allow: loopback, Trusted: true}

// sipVideoTracks counts the video tracks the room's SIP participants
// publish.
func sipVideoTracks(t *testing.T, f *fixture) int {
	n := 0
	for _, p := range f.sipParticipants("demo") {
		for _, tr := range p.Tracks {
			if tr.Kind == room.TrackKindVideo {
				n++
			}
		}
	}
	return n
}

// waitPictures waits until the viewer has n more pictures from the room
// system than it had (from is the room system's identity, "" before it
// is known) and returns the room system's identity.
func waitPictures(t *testing.T, v *roomViewer, n int, what string) string {
	t.Helper()
	id, before, _, _, _ := v.other("camera")
	waitUntil(t, 10*time.Second, what, func() bool {
		var frames int
		var size [2]int
		id, frames, _, size, _ = v.other("camera")
		return frames >= before+n && size == [2]int{streamWidth, streamHeight}
	})
	return id
}

// waitCameraAtRoomSystem waits until the room system has n more pictures
// of the camera's size.
func waitCameraAtRoomSystem(t *testing.T, p *phone, n int) {
	t.Helper()
	waitPicturesAt(t, p.video, streamWidth, streamHeight, n, "the camera's picture at the room system")
}

// waitPicturesAt waits until stream v of a room system has n more
// pictures of size w×h.
func waitPicturesAt(t *testing.T, v *videoPhone, w, h, n int, what string) {
	t.Helper()
	_, before := v.received(w, h)
	waitUntil(t, 10*time.Second, what, func() bool {
		_, got := v.received(w, h)
		return got >= before+n
	})
}

// TestReinviteAddsVideo: an audio call adds video by re-INVITE (ports
// taken then; both directions flow), holds it (the room system gets no
// more pictures, the room still gets its), resumes it, and removes it
// (port 0: the track leaves the room and the ports go back).
func TestReinviteAddsVideo(t *testing.T) {
	f := videoFixture(t, videoTrunk)
	viewer := joinViewer(t, f)
	startCamera(t, f, "x264-320x180-15fps.h264")
	ag := newAgent(t)
	p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	if p.answer.Video != nil {
		t.Fatal("video answered to an audio offer")
	}
	waitUntil(t, 5*time.Second, "the phone in the room", func() bool { return len(f.sipParticipants("demo")) == 1 })
	if n := f.pool.InUse(); n != 1 {
		t.Errorf("%d port pairs for an audio call", n)
	}

	code, ans := p.reinviteVideo(nil)
	if code != 200 || ans.Video == nil || ans.Video.Port == 0 || ans.Video.Direction != sdp.DirectionSendRecv {
		t.Fatalf("re-INVITE adding video: %d %+v", code, ans)
	}
	waitPictures(t, viewer, 15, "the room system's picture in the room")
	waitCameraAtRoomSystem(t, p, 10)

	// Video held by the room system: it still sends, receives nothing.
	code, ans = p.reinviteVideo(func(o *sdp.Session) { o.Video.Direction = sdp.DirectionSendOnly })
	if code != 200 || ans.Video.Direction != sdp.DirectionRecvOnly || ans.Audio.Direction != sdp.DirectionSendRecv {
		t.Fatalf("hold: %d %+v", code, ans)
	}
	held := p.video.framesNow()
	waitUntil(t, 5*time.Second, "no more pictures to the held room system", func() bool {
		n := p.video.framesNow()
		if n != held {
			held = n // in flight when the answer came
			return false
		}
		time.Sleep(4 * outPoll)
		return p.video.framesNow() == n
	})
	waitPictures(t, viewer, 10, "the held room system's picture in the room")

	code, ans = p.reinviteVideo(nil)
	if code != 200 || ans.Video.Direction != sdp.DirectionSendRecv {
		t.Fatalf("resume: %d %+v", code, ans)
	}
	waitCameraAtRoomSystem(t, p, 10)
	st, _ := p.video.received(0, 0)
	if st.Lost != 0 {
		t.Errorf("room system saw %d packets lost across hold and resume", st.Lost)
	}

	// Video removed: the track leaves the room, its ports go back.
	code, ans = p.reinviteVideo(func(o *sdp.Session) { o.Video.Port = 0 })
	if code != 200 || ans.Video != nil {
		t.Fatalf("remove: %d %+v", code, ans)
	}
	waitUntil(t, 5*time.Second, "the room system's video track gone", func() bool { return sipVideoTracks(t, f) == 0 })
	waitUntil(t, 5*time.Second, "the video ports back", func() bool { return f.pool.InUse() == 1 })
	p.hangup()
	f.waitIdle()
}

// TestDelayedOfferVideo: an INVITE without SDP (as Cisco endpoints send)
// gets our offer with H.264 (mode 1 and 0, constrained baseline 42e01f,
// rtcp-fb, b=TIAS); the room system's answer in the ACK starts video both
// ways.
func TestDelayedOfferVideo(t *testing.T) {
	f := videoFixture(t, videoTrunk)
	viewer := joinViewer(t, f)
	startCamera(t, f, "x264-320x180-15fps.h264")
	ag := newAgent(t)
	p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440, delayed: true, video: videoOpts{on: true}})
	if code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	ours := p.answer.Video // the gateway's offer
	if ours == nil || ours.Port == 0 || ours.Bitrate != 2_000_000 || len(ours.RTCPFb) == 0 {
		t.Fatalf("gateway offered video %+v", ours)
	}
	modes := map[int]bool{}
	for _, c := range ours.Codecs {
		h, ok := sdp.ParseH264Fmtp(c.Fmtp)
		if !ok {
			t.Fatalf("offered %v", c)
		}
		modes[h.PacketizationMode] = true
	}
	if h, _ := ours.H264(); !modes[0] || !modes[1] || h.ProfileIDC != 0x42 || h.ProfileIOP != 0xe0 || h.Level != 31 {
		t.Errorf("offered %v", ours.Codecs)
	}
	waitPictures(t, viewer, 15, "the room system's picture in the room")
	waitCameraAtRoomSystem(t, p, 10)
	p.hangup()
	f.waitIdle()
}

// TestMediaControlINFO: INFO application/media_control+xml from a room
// system: a picture_fast_update brings the next picture as an IDR (here
// the slate's, the room having no camera), a body that is not a
// media_control document gets 400, on video calls and audio calls alike.
func TestMediaControlINFO(t *testing.T) {
	f := videoFixture(t, videoTrunk)
	ag := newAgent(t)
	p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440, video: videoOpts{on: true, noFeedback: true}})
	if code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	// The slate: 640×360 pictures, an IDR every two seconds.
	waitUntil(t, 10*time.Second, "the slate at the room system", func() bool {
		_, n := p.video.received(video.DefaultSlateWidth, video.DefaultSlateHeight)
		return n > 0
	})
	for range 3 {
		keys := p.video.keyframes.Load()
		sent := time.Now()
		if code := p.sendInfo(video.MediaControlType, video.BuildPictureFastUpdate("")); code != 200 {
			t.Fatalf("INFO picture_fast_update: %d", code)
		}
		waitUntil(t, 5*time.Second, "a keyframe after INFO", func() bool { return p.video.keyframes.Load() > keys })
		// The slate's own IDRs come every 2 s: a quicker one answered
		// the INFO.
		if d := time.Since(sent); d > slateKeyInterval {
			t.Logf("keyframe %v after the INFO (maybe the periodic one)", d)
		}
	}
	for _, body := range []string{"<foo/>", "not xml at all", ""} {
		if code := p.sendInfo(video.MediaControlType, []byte(body)); code != 400 {
			t.Errorf("INFO %q: %d, want 400", body, code)
		}
	}
	audio, code := ag.dial(f.uri("demo"), phoneOpts{freq: 660})
	if code != 200 {
		t.Fatalf("audio INVITE: %d", code)
	}
	if code := audio.sendInfo(video.MediaControlType, []byte("<foo/>")); code != 400 {
		t.Errorf("malformed INFO on an audio call: %d, want 400", code)
	}
	if code := audio.sendInfo(video.MediaControlType+"; charset=utf-8", video.BuildPictureFastUpdate("")); code != 200 {
		t.Errorf("INFO picture_fast_update on an audio call: %d", code)
	}
	audio.hangup()
	p.hangup()
	f.waitIdle()
}

// TestNoLeaksVideo: video calls set up and torn down over and over leave
// no goroutine, port or track behind.
func TestNoLeaksVideo(t *testing.T) {
	cycles := 30
	if testing.Short() {
		cycles = 8
	}
	f := videoFixture(t, videoTrunk)
	ag := newAgent(t)
	p, _ := ag.dial(f.uri("demo"), phoneOpts{freq: 440, video: videoOpts{on: true}})
	p.hangup()
	f.waitIdle()
	ignore := goleak.IgnoreCurrent()
	for i := range cycles {
		p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440, video: videoOpts{on: true, noFeedback: i%2 == 1}})
		if code != 200 {
			t.Fatalf("cycle %d: %d", i, code)
		}
		if i%4 == 0 {
			waitUntil(t, 5*time.Second, "video from the gateway", func() bool { return p.video.framesNow() > 0 })
		}
		p.hangup()
		waitUntil(t, 5*time.Second, "call ended", func() bool { return f.gw.activeCalls() == 0 })
	}
	f.waitIdle()
	leakcheck.Verify(t, 10*time.Second, ignore)
	ps, err := f.sfu.Participants(context.Background(), "demo")
	if err == nil && len(ps) != 0 {
		t.Errorf("%d participants left in the room", len(ps))
	}
}

// TestRoomSystemVideoSwitch: with two cameras in the room (the x264
// stream at 320×180, and a second camera showing a 320×240 picture), the
// room system sees the pinned one, and switching the pin switches its
// picture at a keyframe of the new source; without a pin it sees the
// loudest speaker's (their microphones' RFC 6464 levels); no switch
// leaves a sequence gap.
func TestRoomSystemVideoSwitch(t *testing.T) {
	f := videoFixture(t, videoTrunk)
	aus := readStream(t, "x264-320x180-15fps.h264")
	camera := startSource(t, f, "camera", true, func(i int) []byte { return onDemand(aus, i) })
	other, err := video.NewSlate(video.SlateConfig{Width: 320, Height: 240, Lines: []string{"B"}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	speaker := startSource(t, f, "other", true, func(i int) []byte {
		mu.Lock()
		defer mu.Unlock()
		return other.Next(i == 0)
	})
	ag := newAgent(t)
	p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440, video: videoOpts{on: true}})
	if code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	ctx := context.Background()
	for _, step := range []struct {
		pin  string
		w, h int
	}{{"other", 320, 240}, {"camera", streamWidth, streamHeight}, {"other", 320, 240}} {
		if err := f.sfu.Pin(ctx, "demo", step.pin); err != nil {
			t.Fatal(err)
		}
		_, before := p.video.received(step.w, step.h)
		pinned := time.Now()
		waitUntil(t, 10*time.Second, step.pin+"'s picture at the room system", func() bool {
			_, n := p.video.received(step.w, step.h)
			return n > before
		})
		t.Logf("pin %s → its first picture (a keyframe) at the room system: %v", step.pin, time.Since(pinned).Round(time.Millisecond))
		waitUntil(t, 10*time.Second, step.pin+"'s pictures at the room system", func() bool {
			_, n := p.video.received(step.w, step.h)
			return n >= before+5
		})
	}
	// Without a pin, the loudest speaker's picture.
	if err := f.sfu.Unpin(ctx, "demo", "other"); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		loud, quiet *roomCamera
		w, h        int
	}{{camera, speaker, streamWidth, streamHeight}, {speaker, camera, 320, 240}} {
		step.quiet.speaking.Store(false)
		step.loud.speaking.Store(true)
		_, before := p.video.received(step.w, step.h)
		waitUntil(t, 10*time.Second, "the speaker's picture at the room system", func() bool {
			_, n := p.video.received(step.w, step.h)
			return n >= before+5
		})
	}
	st, _ := p.video.received(0, 0)
	if st.Lost != 0 || st.Dropped != 0 {
		t.Errorf("room system received %+v across the switches", st)
	}
	p.hangup()
	f.waitIdle()
}
