package test

import (
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"

	lkproto "github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/media/vad"
	"github.com/roombridge/roombridge/gateway/video"
)

// lkvPictures counts what one receiver depacketized.
type lkvPictures struct {
	d       *video.Depacketizer
	frames  int
	keys    int
	bySize  map[[2]int]int
	firstOf map[[2]int]time.Time // first picture of each size
	first   time.Time            // first picture
	lastKey time.Time
	shown   [2]int                  // the size of the last picture
	changes []lkvChange             // every change of picture size
	stats   video.DepacketizerStats // in snapshots
}

// lkvChange is the first picture of a new size.
type lkvChange struct {
	at   time.Time
	size [2]int
	key  bool
}

func newLKVPictures() *lkvPictures {
	p := &lkvPictures{bySize: map[[2]int]int{}, firstOf: map[[2]int]time.Time{}}
	p.d = video.NewDepacketizer(func(au video.AccessUnit) {
		st := p.d.Stats()
		p.frames++
		size := [2]int{st.Width, st.Height}
		if p.bySize[size]++; p.bySize[size] == 1 {
			p.firstOf[size] = time.Now()
		}
		if p.first.IsZero() {
			p.first = time.Now()
		}
		if au.Keyframe {
			p.keys++
			p.lastKey = time.Now()
		}
		if size != p.shown {
			p.changes = append(p.changes, lkvChange{at: time.Now(), size: size, key: au.Keyframe})
			p.shown = size
		}
	}, 0)
	return p
}

// snapshot copies the counts; the caller holds the lock the pictures are
// pushed under.
func (p *lkvPictures) snapshot() lkvPictures {
	cp := *p
	cp.bySize, cp.firstOf = maps.Clone(p.bySize), maps.Clone(p.firstOf)
	cp.changes = slices.Clone(p.changes)
	cp.stats, cp.d = p.d.Stats(), nil
	return cp
}

// lkvClient is the LiveKit client of room demo.
type lkvClient struct {
	t      *testing.T
	room   *lksdk.Room
	slate  *video.Slate
	w, h   int          // the camera's picture
	keyNow atomic.Bool  // the next picture is an IDR
	plis   atomic.Int64 // keyframe requests at our camera
	loud   atomic.Bool  // the microphone sends a tone, else silence
	stop   chan struct{}
	wg     sync.WaitGroup

	mu        sync.Mutex
	joined    map[string]time.Time // when each participant appeared
	rx        map[string]*lkvPictures
	remote    map[string]*lksdk.RemoteParticipant
	ssrc      map[string]webrtc.SSRC
	loudest   string    // LiveKit's loudest active speaker
	loudestAt time.Time // when it was last named first
}

// joinLKVClient connects "viewer" to room demo; it leaves when the test
// ends.
func joinLKVClient(t *testing.T, lk *lkServer) *lkvClient {
	t.Helper()
	return joinLKVClientAs(t, lk, "viewer", lkvClientWidth, lkvClientHeight)
}

// joinLKVClientAs connects identity, whose camera will show a w×h
// picture.
func joinLKVClientAs(t *testing.T, lk *lkServer, identity string, w, h int) *lkvClient {
	t.Helper()
	slate, err := video.NewSlate(video.SlateConfig{Width: w, Height: h, Lines: []string{identity}})
	if err != nil {
		t.Fatal(err)
	}
	c := &lkvClient{
		t: t, slate: slate, w: w, h: h, stop: make(chan struct{}),
		joined: map[string]time.Time{}, rx: map[string]*lkvPictures{},
		remote: map[string]*lksdk.RemoteParticipant{}, ssrc: map[string]webrtc.SSRC{},
	}
	cb := &lksdk.RoomCallback{
		OnParticipantConnected: func(rp *lksdk.RemoteParticipant) {
			c.mu.Lock()
			c.joined[rp.Identity()] = time.Now()
			c.mu.Unlock()
		},
		OnActiveSpeakersChanged: func(ps []lksdk.Participant) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if len(ps) > 0 && ps[0].Identity() != c.loudest {
				c.loudest, c.loudestAt = ps[0].Identity(), time.Now()
			}
		},
		ParticipantCallback: lksdk.ParticipantCallback{OnTrackSubscribed: c.onTrack},
	}
	r, err := lksdk.ConnectToRoom(lk.url(), lksdk.ConnectInfo{
		APIKey: lkKey, APISecret: lkSecret, RoomName: "demo",
		ParticipantIdentity: identity, ParticipantName: identity,
	}, cb)
	if err != nil {
		t.Fatalf("LiveKit client: %v", err)
	}
	c.room = r
	t.Cleanup(func() {
		close(c.stop)
		r.Disconnect()
		c.wg.Wait()
	})
	return c
}

// publish starts the client's H.264 camera: the slate picture at 15
// frames a second, an IDR at the start and whenever asked (RTCP PLI/FIR).
func (c *lkvClient) publish() {
	c.t.Helper()
	lkPublishH264(c.t, c.room, c.w, c.h, time.Second/15, c.stop, &c.wg,
		func() {
			c.plis.Add(1)
			c.keyNow.Store(true)
		},
		func(int) []byte { return c.slate.Next(c.keyNow.Swap(false)) })
}

// publishMic starts the client's microphone: Opus in 20 ms frames, each
// with the RFC 6464 audio level LiveKit finds its active speakers by; a
// tone while c.loud is set, digital silence (level 127) otherwise.
func (c *lkvClient) publishMic() {
	c.t.Helper()
	track, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: "mic", Source: lkproto.TrackSource_MICROPHONE, DisableDTX: true,
	}); err != nil {
		c.t.Fatalf("LiveKit client %s: publish the microphone: %v", c.room.LocalParticipant.Identity(), err)
	}
	enc, err := opus.NewEncoder(48000, 1, opus.EncoderConfig{})
	if err != nil {
		c.t.Fatal(err)
	}
	gen := tone.NewGenerator(440, 48000, 32767*math.Pow(10, lkgwSentDB/20))
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		pcm := make([]int16, 960)
		out := make([]byte, opus.MaxFrameBytes)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			if c.loud.Load() {
				gen.Fill(pcm)
			} else {
				clear(pcm)
			}
			level := vad.AudioLevel(vad.Level(pcm))
			n, err := enc.Encode(pcm, out)
			if err != nil {
				c.t.Errorf("opus encode: %v", err)
				return
			}
			_ = track.WriteSample(media.Sample{Data: slices.Clone(out[:n]), Duration: 20 * time.Millisecond},
				&lksdk.SampleWriteOptions{AudioLevel: &level})
		}
	}()
}

// lkvScreen follows a participant's identity in what a client received
// of its screen share.
const lkvScreen = "/screen"

func (c *lkvClient) onTrack(tr *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if tr.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	id := rp.Identity()
	if pub.Source() == lkproto.TrackSource_SCREEN_SHARE {
		id += lkvScreen
	}
	pics := newLKVPictures()
	c.mu.Lock()
	c.rx[id], c.remote[id], c.ssrc[id] = pics, rp, tr.SSRC()
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			var p rtp.Packet
			if p.Unmarshal(append([]byte(nil), buf[:n]...)) != nil {
				continue
			}
			c.mu.Lock()
			pics.d.Push(&p)
			c.mu.Unlock()
		}
	}()
}

// from returns a copy of what arrived from identity, and when it joined.
func (c *lkvClient) from(identity string) (lkvPictures, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.rx[identity]
	if p == nil {
		return lkvPictures{}, c.joined[identity]
	}
	return p.snapshot(), c.joined[identity]
}

// askKeyframe sends an RTCP PLI for identity's video.
func (c *lkvClient) askKeyframe(identity string) {
	c.mu.Lock()
	rp, ssrc := c.remote[identity], c.ssrc[identity]
	c.mu.Unlock()
	if rp == nil {
		c.t.Fatalf("no video of %s to ask a keyframe of", identity)
	}
	rp.WritePLI(ssrc)
}
