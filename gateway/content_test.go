package gateway

import (
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/video"
)

// Screen test source: a slate at another size than the test stream, so
// that the room system can tell the shared screen from the camera.
const screenWidth, screenHeight = 640, 360

// startScreen is a participant of the room sharing its screen: a
// screen-share H.264 track of a still picture at screenWidth×screenHeight,
// an IDR first and whenever asked.
func startScreen(t *testing.T, f *fixture, id string) *roomCamera {
	t.Helper()
	s, err := video.NewSlate(video.SlateConfig{Width: screenWidth, Height: screenHeight, Lines: []string{"shared screen"}})
	if err != nil {
		t.Fatal(err)
	}
	return startSourceAs(t, f, id, false, room.TrackSourceScreen, func(i int) []byte { return s.Next(i == 0) })
}

// screenAt waits until stream v of the room system has n more pictures
// of the shared screen's size.
func screenAt(t *testing.T, v *videoPhone, n int, what string) {
	t.Helper()
	waitPicturesAt(t, v, screenWidth, screenHeight, n, what)
}

// TestRoomSystemContent: a room system offering a main video and a
// content stream (a=content:slides) calls a room with a camera and a
// viewer. Its content stream is answered on ports of its own and
// reaches the viewer as a screen-share track of the same participant;
// the camera goes to its main stream; a participant sharing its screen
// reaches its content stream (not the main one), with keyframe requests
// both ways on the right stream; the share ending pauses the content
// stream. A re-INVITE that removes the content stream while the screen
// is shared puts the screen on the main stream; one that adds it back
// moves the screen there again.
func TestRoomSystemContent(t *testing.T) {
	f := videoFixture(t, videoTrunk)
	viewer := joinViewer(t, f)
	startCamera(t, f, "x264-320x180-15fps.h264")
	ag := newAgent(t)
	p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440, video: videoOpts{on: true, slides: true}})
	if code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	main, slides := p.answer.Video, p.answer.Slides
	if main.Rejected() || slides.Rejected() {
		t.Fatalf("video or content rejected:\n%s", p.answer.Marshal())
	}
	if main.Content != "main" || slides.Content != "slides" || slides.Port == main.Port || slides.Port == p.answer.Audio.Port {
		t.Errorf("answered content %q on %d and %q on %d", main.Content, main.Port, slides.Content, slides.Port)
	}
	if h, _ := slides.H264(); h.PacketizationMode != 1 || len(slides.RTCPFb) == 0 || slides.Bitrate != 2_000_000 {
		t.Errorf("content answered %v %v b=%d", slides.Codecs, slides.RTCPFb, slides.Bitrate)
	}
	if n := f.pool.InUse(); n != 3 {
		t.Errorf("%d port pairs in use, want 3 (audio, video, content)", n)
	}

	// Room system → room: its content is a screen share of the same
	// participant, its camera a camera.
	id := waitPictures(t, viewer, 15, "the room system's camera in the room")
	waitUntil(t, 10*time.Second, "the room system's content in the room as a screen share", func() bool {
		n, size, _ := viewer.screen(id)
		return n >= 15 && size == [2]int{streamWidth, streamHeight}
	})
	var sources []room.TrackSource
	for _, ps := range f.sipParticipants("demo") {
		for _, tr := range ps.Tracks {
			if tr.Kind == room.TrackKindVideo {
				sources = append(sources, tr.Source)
			}
		}
	}
	if len(sources) != 2 || sources[0] == sources[1] {
		t.Errorf("the room system's video tracks are %v, want a camera and a screen", sources)
	}

	// Room → room system: the camera on the main stream, nothing on the
	// content stream while nobody shares.
	waitCameraAtRoomSystem(t, p, 15)
	if st, _ := p.content.received(0, 0); st.Frames != 0 {
		t.Errorf("the content stream got %d pictures while nobody shares", st.Frames)
	}
	start := time.Now()
	screen := startScreen(t, f, "sharer")
	screenAt(t, p.content, 10, "the shared screen on the content stream")
	t.Logf("screen shared → its first picture on the content stream: %v", time.Since(start).Round(time.Millisecond))
	waitCameraAtRoomSystem(t, p, 15) // the main stream keeps the camera
	if _, n := p.video.received(screenWidth, screenHeight); n != 0 {
		t.Errorf("%d pictures of the screen on the main stream while the room system has a content stream", n)
	}
	if st, _ := p.content.received(0, 0); st.Lost != 0 || st.Dropped != 0 || st.Keyframes == 0 {
		t.Errorf("content stream received %+v", st)
	}

	// Keyframes on the content stream: the room system's PLI about its
	// content reaches the sharer; the viewer's request about the room
	// system's screen reaches its content stream only.
	waitUntil(t, 5*time.Second, "the sharer not asked for a while", func() bool {
		return time.Since(time.Unix(0, screen.askedAt.Load())) > 2*video.DefaultKeyframeInterval
	})
	asked := screen.asked.Load()
	if err := p.content.sendKeyframeRequest(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the sharer asked for a keyframe", func() bool { return screen.asked.Load() > asked })
	waitUntil(t, 5*time.Second, "the room system not asked for a while", func() bool {
		last := max(p.content.askedAt.Load(), p.video.askedAt.Load())
		return time.Since(time.Unix(0, last)) > 2*video.DefaultKeyframeInterval
	})
	mainPLI, contentPLI := p.video.pli.Load(), p.content.pli.Load()
	_, _, track := viewer.screen(id)
	if err := viewer.part.RequestKeyframe(track); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "RTCP PLI on the content stream", func() bool { return p.content.pli.Load() > contentPLI })
	if p.video.pli.Load() != mainPLI {
		t.Error("a keyframe request for the content reached the main stream")
	}

	q, ok := f.gw.Quality("demo", id)
	if !ok || q.Content == nil || q.Video == nil {
		t.Fatalf("no content quality for %s: %+v", id, q)
	}
	if c := q.Content; c.Width != streamWidth || c.FramesReceived == 0 || c.FramesSent == 0 || !c.Sending {
		t.Errorf("content quality %+v", *c)
	}

	// The room system drops its content stream while the screen is
	// shared: the screen replaces the camera on its main stream.
	code, ans := p.reinviteVideo(func(o *sdp.Session) { o.Slides.Port = 0 })
	if code != 200 || ans.Video.Rejected() || (ans.Slides != nil && !ans.Slides.Rejected()) {
		t.Fatalf("re-INVITE without content: %d\n%s", code, ans.Marshal())
	}
	screenAt(t, p.video, 10, "the shared screen on the main stream")
	waitUntil(t, 5*time.Second, "the content track gone from the room", func() bool { return sipVideoTracks(t, f) == 1 })
	if n := f.pool.InUse(); n != 2 {
		t.Errorf("%d port pairs in use without content, want 2", n)
	}

	// It adds it back: the screen moves there, the camera comes back.
	code, ans = p.reinviteVideo(nil)
	if code != 200 || ans.Slides.Rejected() {
		t.Fatalf("re-INVITE adding content: %d\n%s", code, ans.Marshal())
	}
	screenAt(t, p.content, 10, "the shared screen on the content stream again")
	waitCameraAtRoomSystem(t, p, 10)

	// The share ends: the content stream pauses.
	_ = screen.w.Close()
	time.Sleep(300 * time.Millisecond) // frames in flight
	before, _ := p.content.received(0, 0)
	time.Sleep(500 * time.Millisecond)
	if after, _ := p.content.received(0, 0); after.Frames != before.Frames {
		t.Errorf("%d pictures on the content stream after the share ended", after.Frames-before.Frames)
	}
	waitCameraAtRoomSystem(t, p, 10)

	p.hangup()
	f.waitIdle()
}

// TestRoomSystemScreenOnMain: a room system with one video stream sees a
// participant's shared screen on it while the share lasts, instead of
// the camera, and the camera again after, with no sequence gap.
func TestRoomSystemScreenOnMain(t *testing.T) {
	f := videoFixture(t, videoTrunk)
	startCamera(t, f, "x264-320x180-15fps.h264")
	ag := newAgent(t)
	p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440, video: videoOpts{on: true}})
	if code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	waitCameraAtRoomSystem(t, p, 10)
	screen := startScreen(t, f, "sharer")
	screenAt(t, p.video, 10, "the shared screen on the main stream")
	_ = screen.w.Close()
	waitCameraAtRoomSystem(t, p, 10)
	if st, _ := p.video.received(0, 0); st.Lost != 0 || st.Dropped != 0 {
		t.Errorf("main stream received %+v", st)
	}
	p.hangup()
	f.waitIdle()
}
