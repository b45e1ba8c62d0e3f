package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/video"
)

// videoFixture is a fixture whose gateway answers video.
func videoFixture(t *testing.T, trunk sip.Trunk) *fixture {
	return newFixtureTrunk(t, trunk, func(c *Config) {
		c.Video, c.VideoBitrate = true, 2_000_000
	})
}

// roomViewer is a bot in the room that reads every H.264 track, as a
// browser's decoder would be fed: it counts pictures and keyframes per
// publisher and reads the picture size from the SPS in front of them.
type roomViewer struct {
	part room.Participant
	wg   sync.WaitGroup

	mu     sync.Mutex
	frames map[string]int
	keys   map[string]int
	sizes  map[string][2]int
	tracks map[string]string // publisher → track id
	// firstKey is when the first keyframe of a publisher arrived.
	firstKey map[string]time.Time
	// screens counts the pictures of screen-share tracks by publisher
	// (not in frames), screenSizes their size and screenTracks their id.
	screens      map[string]int
	screenSizes  map[string][2]int
	screenTracks map[string]string
}

func joinViewer(t *testing.T, f *fixture) *roomViewer {
	t.Helper()
	p, err := f.sfu.Join(context.Background(), "demo", room.ParticipantInfo{Identity: "viewer", Name: "viewer", Kind: room.ParticipantKindBot})
	if err != nil {
		t.Fatal(err)
	}
	v := &roomViewer{
		part: p, frames: map[string]int{}, keys: map[string]int{}, sizes: map[string][2]int{},
		tracks: map[string]string{}, firstKey: map[string]time.Time{},
		screens: map[string]int{}, screenSizes: map[string][2]int{}, screenTracks: map[string]string{},
	}
	p.OnTrack(func(tr room.RemoteTrack) {
		if tr.Kind() != room.TrackKindVideo {
			return
		}
		v.mu.Lock()
		if isScreen(tr) {
			v.screenTracks[tr.ParticipantID()] = tr.ID()
		} else {
			v.tracks[tr.ParticipantID()] = tr.ID()
		}
		v.mu.Unlock()
		v.wg.Add(1)
		go v.read(tr)
	})
	t.Cleanup(func() {
		_ = p.Leave("test over")
		v.wg.Wait()
	})
	return v
}

func (v *roomViewer) read(tr room.RemoteTrack) {
	defer v.wg.Done()
	buf := make([]byte, video.DefaultMaxAccessUnit)
	from := tr.ParticipantID()
	screen := isScreen(tr)
	for {
		n, info, err := tr.ReadFrame(buf)
		if err != nil {
			return
		}
		v.mu.Lock()
		if screen {
			v.screens[from]++
			if sps, ok := firstSPS(buf[:n]); ok {
				v.screenSizes[from] = [2]int{sps.Width, sps.Height}
			}
			v.mu.Unlock()
			continue
		}
		v.frames[from]++
		if info.Keyframe {
			if v.keys[from] == 0 {
				v.firstKey[from] = time.Now()
			}
			v.keys[from]++
		}
		for nal, rest := video.NextNAL(buf[:n]); nal != nil || rest != nil; nal, rest = video.NextNAL(rest) {
			if video.NALType(nal) == video.NALSPS {
				if sps, err := video.ParseSPS(nal); err == nil {
					v.sizes[from] = [2]int{sps.Width, sps.Height}
				}
			}
		}
		v.mu.Unlock()
	}
}

// other returns the publisher of video other than not, if any.
func (v *roomViewer) other(not string) (id string, frames, keys int, size [2]int, track string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for p := range v.frames {
		if p != not {
			return p, v.frames[p], v.keys[p], v.sizes[p], v.tracks[p]
		}
	}
	return "", 0, 0, [2]int{}, ""
}

// firstSPS returns the SPS in an access unit, if any.
func firstSPS(au []byte) (video.SPS, bool) {
	for nal, rest := video.NextNAL(au); nal != nil || rest != nil; nal, rest = video.NextNAL(rest) {
		if video.NALType(nal) == video.NALSPS {
			if sps, err := video.ParseSPS(nal); err == nil {
				return sps, true
			}
		}
	}
	return video.SPS{}, false
}

// screen returns what the viewer received of a publisher's screen share.
func (v *roomViewer) screen(from string) (frames int, size [2]int, track string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.screens[from], v.screenSizes[from], v.screenTracks[from]
}

// roomCamera is a bot in the room that publishes the x264 test stream as
// its camera, from its IDR again whenever someone asks for a keyframe.
type roomCamera struct {
	part room.Participant
	w    room.VideoWriter
	// next returns the i-th access unit since the last keyframe asked for.
	next    func(i int) []byte
	asked   atomic.Int64 // keyframe requests received
	askedAt atomic.Int64 // unix nanoseconds of the last
	restart atomic.Bool
	// mic, when published, sends Opus silence frames whose RFC 6464 level
	// says loud while speaking is set.
	mic      room.AudioLevelWriter
	speaking atomic.Bool
	// bitrate is the last limit the room set on the camera (bit/s, 0
	// none), limits how many it was given.
	bitrate, limits atomic.Int64
	stop            chan struct{}
	wg              sync.WaitGroup
}

func startCamera(t *testing.T, f *fixture, stream string) *roomCamera {
	t.Helper()
	aus := readStream(t, stream)
	return startSource(t, f, "camera", false, func(i int) []byte { return onDemand(aus, i) })
}

// startSource is a camera named id whose pictures come from next; with
// audio it also publishes a microphone, silent until speaking is set.
func startSource(t *testing.T, f *fixture, id string, audio bool, next func(i int) []byte) *roomCamera {
	t.Helper()
	return startSourceAs(t, f, id, audio, room.TrackSourceCamera, next)
}

// startSourceAs is startSource publishing a track of source src (a
// camera or a shared screen).
func startSourceAs(t *testing.T, f *fixture, id string, audio bool, src room.TrackSource, next func(i int) []byte) *roomCamera {
	t.Helper()
	p, err := f.sfu.Join(context.Background(), "demo", room.ParticipantInfo{Identity: id, Name: id, Kind: room.ParticipantKindBot})
	if err != nil {
		t.Fatal(err)
	}
	c := &roomCamera{part: p, next: next, stop: make(chan struct{})}
	c.w, err = p.PublishVideo(room.VideoCodec{MimeType: "video/H264", ClockRate: video.ClockRate, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if audio {
		aw, err := p.PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		c.mic, _ = aw.(room.AudioLevelWriter)
		if c.mic == nil {
			t.Fatal("the SFU's audio writer takes no levels")
		}
		t.Cleanup(func() { _ = aw.Close() })
	}
	c.wg.Add(2)
	go c.events()
	go c.send()
	t.Cleanup(func() {
		close(c.stop)
		_ = c.w.Close()
		_ = p.Leave("test over")
		c.wg.Wait()
	})
	return c
}

func (c *roomCamera) events() {
	defer c.wg.Done()
	for ev := range c.part.Events() {
		switch ev.Type {
		case room.EventKeyframeRequested:
			c.askedAt.Store(time.Now().UnixNano())
			c.asked.Add(1)
			c.restart.Store(true)
		case room.EventVideoBitrate:
			c.bitrate.Store(int64(ev.Bitrate))
			c.limits.Add(1)
		}
	}
}

func (c *roomCamera) send() {
	defer c.wg.Done()
	tk := time.NewTicker(time.Second / streamFPS)
	defer tk.Stop()
	i := 0
	for {
		select {
		case <-c.stop:
			return
		case <-tk.C:
		}
		if c.restart.Swap(false) {
			i = 0
		}
		if err := c.w.WriteVideo(c.next(i), time.Second/streamFPS); err != nil {
			return
		}
		if c.mic != nil {
			level := uint8(127)
			if c.speaking.Load() {
				level = 10 // -10 dBov
			}
			_ = c.mic.WriteAudioLevel(opusSilence, time.Second/streamFPS, level)
		}
		i++
	}
}

// TestRoomSystemVideo: a room system (a test phone sending H.264 from an
// x264 file, 320×180 at 15 fps) calls a room with a camera (a bot
// publishing the same stream) and a viewer (a bot reading every video
// track). The room system's picture reaches the viewer starting with a
// keyframe at its size; the camera's picture reaches the room system
// with no sequence gap (the slate first, then a switch at a keyframe);
// and keyframe requests cross both ways: the viewer's becomes RTCP PLI
// (or, without rtcp-fb, SIP INFO picture_fast_update) to the room
// system, the room system's PLI (or INFO) reaches the camera. Variants:
// packetization-mode 0, no rtcp-fb, SRTP.
func TestRoomSystemVideo(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts videoOpts
		srtp bool
	}{
		{name: "pli", opts: videoOpts{on: true}},
		{name: "info", opts: videoOpts{on: true, noFeedback: true}},
		{name: "mode0", opts: videoOpts{on: true, mode0: true}},
		{name: "srtp", opts: videoOpts{on: true}, srtp: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trunk := sip.Trunk{Name: "local", Allow: loopback, Trusted: true, SRTPOverPlain: tc.srtp}
			f := videoFixture(t, trunk)
			viewer := joinViewer(t, f)
			// A room system in mode 0 takes NAL units of one packet at
			// most: a camera whose encoder slices its pictures so.
			stream := "x264-320x180-15fps.h264"
			if tc.opts.mode0 {
				stream = "x264-320x180-15fps-sliced.h264"
			}
			camera := startCamera(t, f, stream)
			ag := newAgent(t)
			po := phoneOpts{freq: 440, video: tc.opts}
			if tc.srtp {
				po.srtp = sdp.SRTPRequire
			}
			start := time.Now()
			p, code := ag.dial(f.uri("demo"), po)
			if code != 200 {
				t.Fatalf("INVITE: %d", code)
			}
			checkVideoAnswer(t, p, tc.opts, tc.srtp)

			// Room system → room.
			var id, track string
			waitUntil(t, 10*time.Second, "the room system's keyframe and 15 pictures in the room", func() bool {
				var frames, keys int
				var size [2]int
				id, frames, keys, size, track = viewer.other("camera")
				return keys > 0 && frames >= 15 && size == [2]int{streamWidth, streamHeight}
			})
			viewer.mu.Lock()
			t.Logf("INVITE → first keyframe in the room: %v", viewer.firstKey[id].Sub(start).Round(time.Millisecond))
			viewer.mu.Unlock()

			// Room → room system.
			waitUntil(t, 10*time.Second, "the camera's picture at the room system", func() bool {
				_, n := p.video.received(streamWidth, streamHeight)
				return n >= 15
			})
			st, _ := p.video.received(streamWidth, streamHeight)
			if st.Lost != 0 || st.Dropped != 0 || st.Keyframes == 0 {
				t.Errorf("room system received %+v", st)
			}
			// What the room API shows of the leg's video.
			q, ok := f.gw.Quality("demo", id)
			if !ok || q.Video == nil {
				t.Fatalf("no video quality for %s: %+v", id, q)
			}
			if v := q.Video; v.Width != streamWidth || v.Height != streamHeight || v.FrameRate < 10 || v.FrameRate > streamFPS+1 ||
				v.Bitrate == 0 || v.FramesSent == 0 || v.PacketsLost != 0 || !v.Sending {
				t.Errorf("video quality %+v", *v)
			}

			// Keyframes, room → room system.
			waitUntil(t, 5*time.Second, "the room system not asked for a while", func() bool {
				return time.Since(time.Unix(0, p.video.askedAt.Load())) > 2*video.DefaultKeyframeInterval
			})
			pli, infos := p.video.pli.Load(), p.infos.Load()
			if err := viewer.part.RequestKeyframe(track); err != nil {
				t.Fatal(err)
			}
			if tc.opts.noFeedback {
				waitUntil(t, 5*time.Second, "INFO picture_fast_update at the room system", func() bool { return p.infos.Load() > infos })
			} else {
				waitUntil(t, 5*time.Second, "RTCP PLI at the room system", func() bool { return p.video.pli.Load() > pli })
			}
			// Keyframes, room system → room. Requests within the
			// limiter's interval of the last one are folded into it, so
			// the camera is left alone for longer first.
			waitUntil(t, 5*time.Second, "the camera not asked for a while", func() bool {
				return time.Since(time.Unix(0, camera.askedAt.Load())) > 2*video.DefaultKeyframeInterval
			})
			asked := camera.asked.Load()
			if tc.opts.noFeedback {
				if code := p.sendInfo(video.MediaControlType, video.BuildPictureFastUpdate("")); code != 200 {
					t.Fatalf("INFO picture_fast_update: %d", code)
				}
			} else if err := p.video.sendKeyframeRequest(); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, 5*time.Second, "the camera asked for a keyframe", func() bool { return camera.asked.Load() > asked })

			p.hangup()
			f.waitIdle()
		})
	}
}

// checkVideoAnswer checks the gateway's video answer against what the
// phone offered.
func checkVideoAnswer(t *testing.T, p *phone, o videoOpts, secure bool) {
	t.Helper()
	v := p.answer.Video
	if v == nil || v.Rejected() {
		t.Fatalf("video rejected:\n%s", p.answer.Marshal())
	}
	h, _ := v.H264()
	wantMode := 1
	if o.mode0 {
		wantMode = 0
	}
	if h.PacketizationMode != wantMode || h.Profile != sdp.H264ConstrainedBaseline || v.Secure() != secure {
		t.Errorf("answered %v (%s), secure %v", v.Codecs, v.Proto, v.Secure())
	}
	if (len(v.RTCPFb) == 0) != o.noFeedback {
		t.Errorf("answered rtcp-fb %v", v.RTCPFb)
	}
	if v.Bitrate != 2_000_000 {
		t.Errorf("answered b= %d", v.Bitrate)
	}
}

// onDemand is the i-th access unit of a sender whose encoder makes an IDR
// only when asked, as browsers' do: the first, then the stream's first P
// pictures over and over (the file's own IDRs, every 10 pictures, would
// answer keyframe requests before they are made). The test peers check
// what they receive, not what a decoder would show.
func onDemand(aus [][]byte, i int) []byte {
	if i == 0 {
		return aus[0]
	}
	return aus[1+(i-1)%9]
}

// opusSilence is a 20 ms Opus frame of silence (CELT, RFC 6716 §3.1).
var opusSilence = []byte{0xf8, 0xff, 0xfe}
