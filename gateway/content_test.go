package gateway

import (
	"net"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/bfcp"
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

// quietFor returns a condition that holds once count has not changed for
// d: a stream that stopped, frames in flight aside.
func quietFor(d time.Duration, count func() uint64) func() bool {
	last, since := count(), time.Now()
	return func() bool {
		if n := count(); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) >= d
	}
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
	waitUntil(t, 5*time.Second, "the content stream quiet for a second after the share ended",
		quietFor(time.Second, func() uint64 { st, _ := p.content.received(0, 0); return st.Frames }))
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

// bfcpDo sends a BFCP request from the phone's BFCP socket to the
// gateway's BFCP port and returns the response, acknowledging and
// collecting the gateway's own requests met on the way.
func (p *phone) bfcpDo(txn uint16, prim bfcp.Primitive, attrs ...bfcp.Attribute) (bfcp.Message, []bfcp.Message) {
	t := p.a.t
	t.Helper()
	m := bfcp.Message{Version: 2, Primitive: prim, ConferenceID: 1, TransactionID: txn, UserID: 2, Attributes: attrs}
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p.answer.BFCP.Port}
	if _, err := p.bfcp.WriteTo(m.Marshal(), to); err != nil {
		t.Fatal(err)
	}
	var others []bfcp.Message
	for {
		r := p.bfcpRecv(2 * time.Second)
		if r.Responder && r.TransactionID == txn {
			return r, others
		}
		others = append(others, r)
	}
}

// bfcpRecv reads the gateway's next BFCP message and acknowledges it if
// it is a request of the gateway's.
func (p *phone) bfcpRecv(within time.Duration) bfcp.Message {
	t := p.a.t
	t.Helper()
	buf := make([]byte, bfcp.MaxMessage)
	_ = p.bfcp.SetReadDeadline(time.Now().Add(within))
	n, from, err := p.bfcp.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no BFCP message from the gateway: %v", err)
	}
	m, err := bfcp.Parse(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	ack := map[bfcp.Primitive]bfcp.Primitive{bfcp.FloorStatus: bfcp.FloorStatusAck, bfcp.FloorRequestStatus: bfcp.FloorRequestStatusAck}[m.Primitive]
	if !m.Responder && ack != bfcp.PrimitiveUnknown {
		a := bfcp.Message{Version: 2, Responder: true, Primitive: ack, ConferenceID: m.ConferenceID, TransactionID: m.TransactionID, UserID: m.UserID}
		if _, err := p.bfcp.WriteTo(a.Marshal(), from); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// floorState reads a FloorRequestStatus or FloorStatus: the state of the
// request it describes and the holder's display name, if any.
func floorState(t *testing.T, m bfcp.Message) (bfcp.RequestStatus, string) {
	t.Helper()
	fri, ok := bfcp.Find(m.Attributes, bfcp.AttrFloorRequestInformation)
	if !ok {
		return bfcp.StatusUnknown, ""
	}
	_, sub, err := fri.Group()
	if err != nil {
		t.Fatal(err)
	}
	st, name := bfcp.StatusUnknown, ""
	if ors, ok := bfcp.Find(sub, bfcp.AttrOverallRequestStatus); ok {
		if _, rs, err := ors.Group(); err == nil {
			if a, ok := bfcp.Find(rs, bfcp.AttrRequestStatus); ok && len(a.Value) > 0 {
				st = bfcp.RequestStatus(a.Value[0])
			}
		}
	}
	if bi, ok := bfcp.Find(sub, bfcp.AttrBeneficiaryInformation); ok {
		if _, ba, err := bi.Group(); err == nil {
			if a, ok := bfcp.Find(ba, bfcp.AttrUserDisplayName); ok {
				name = string(a.Value)
			}
		}
	}
	return st, name
}

// TestRoomSystemBFCP: a room system offering BFCP (UDP, a Cisco
// endpoint's m=application line) next to its content stream gets a floor
// control server: its FloorRequest for the content floor is granted, its
// FloorQuery answered with its own grant; a participant of the room
// sharing a screen revokes the grant and is named as the floor's holder
// in a FloorStatus, and the share ending frees the floor. Hanging up
// gives the BFCP port back.
func TestRoomSystemBFCP(t *testing.T) {
	// No b= and no rtcp-fb lines, so that the 200 OK with two video
	// lines and BFCP fits the fixture's UDP (room systems that offer BFCP
	// mostly call over TCP or TLS, where size does not matter).
	f := newFixtureTrunk(t, videoTrunk, func(c *Config) { c.Video = true })
	ag := newAgent(t)
	p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440, video: videoOpts{on: true, slides: true, bfcp: true, noFeedback: true}})
	if code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	b := p.answer.BFCP
	if b == nil || b.Port == 0 || b.Proto != "UDP/BFCP" {
		t.Fatalf("BFCP not answered:\n%s", p.answer.Marshal())
	}
	if fc, _ := b.Attr("floorctrl"); fc != "s-only" {
		t.Errorf("floorctrl %q", fc)
	}
	if fl, _ := b.Attr("floorid"); fl != "2 mstrm:12" {
		t.Errorf("floorid %q", fl)
	}
	if n := f.pool.InUse(); n != 4 {
		t.Errorf("%d port pairs in use, want 4 (audio, video, content, BFCP)", n)
	}

	r, _ := p.bfcpDo(1, bfcp.Hello)
	if r.Primitive != bfcp.HelloAck {
		t.Fatalf("Hello answered %v", r.Primitive)
	}
	r, _ = p.bfcpDo(2, bfcp.FloorRequest, bfcp.Uint16Attr(bfcp.AttrFloorID, 2))
	if st, _ := floorState(t, r); r.Primitive != bfcp.FloorRequestStatus || st != bfcp.StatusGranted {
		t.Fatalf("FloorRequest answered %v %v", r.Primitive, st)
	}
	r, _ = p.bfcpDo(3, bfcp.FloorQuery, bfcp.Uint16Attr(bfcp.AttrFloorID, 2))
	if st, _ := floorState(t, r); r.Primitive != bfcp.FloorStatus || st != bfcp.StatusGranted {
		t.Fatalf("FloorQuery answered %v %v", r.Primitive, st)
	}

	screen := startScreen(t, f, "sharer")
	var revoked, named bool
	deadline := time.Now().Add(5 * time.Second)
	for (!revoked || !named) && time.Now().Before(deadline) {
		m := p.bfcpRecv(time.Until(deadline))
		st, name := floorState(t, m)
		switch {
		case m.Primitive == bfcp.FloorRequestStatus && st == bfcp.StatusRevoked:
			revoked = true
		case m.Primitive == bfcp.FloorStatus && st == bfcp.StatusGranted && name == "sharer":
			named = true
		}
	}
	if !revoked || !named {
		t.Fatalf("after a share in the room: revoked %v, holder named %v", revoked, named)
	}
	screenAt(t, p.content, 5, "the shared screen on the content stream")

	_ = screen.w.Close()
	for {
		m := p.bfcpRecv(5 * time.Second)
		if st, _ := floorState(t, m); m.Primitive == bfcp.FloorStatus && st == bfcp.StatusUnknown {
			break // no FLOOR-REQUEST-INFORMATION: nobody holds the floor
		}
	}

	p.hangup()
	f.waitIdle()
	waitUntil(t, 5*time.Second, "every port back", func() bool { return f.pool.InUse() == 0 })
}

// TestContentAnswerFitsUDP: over UDP, an answer whose 200 OK would be
// larger than a datagram (sipgo refuses UDP messages over 1300 bytes)
// leaves out BFCP, then the content stream (port 0 both), instead of
// failing the call: here, with b= and rtcp-fb on both video lines, only
// the main video fits.
func TestContentAnswerFitsUDP(t *testing.T) {
	f := videoFixture(t, videoTrunk)
	ag := newAgent(t)
	p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440, video: videoOpts{on: true, slides: true, bfcp: true}})
	if code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	if p.answer.BFCP != nil || p.answer.Slides != nil || p.answer.Video.Rejected() {
		t.Fatalf("answered:\n%s", p.answer.Marshal())
	}
	if n := len(p.sess.InviteResponse.String()); n > 1300 {
		t.Errorf("200 OK of %d bytes", n)
	}
	if n := f.pool.InUse(); n != 2 {
		t.Errorf("%d port pairs in use, want 2 (content and BFCP ports given back)", n)
	}
	p.hangup()
	f.waitIdle()
}
