package test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/media/vad"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip/uac"
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

// lkvRoomSystem is the room system: audio (PCMU, which it never sends; the
// gateway's RTP timeout is longer than the test) and, when asked, H.264
// video with rtcp-mux.
type lkvRoomSystem struct {
	t            *testing.T
	call         *uac.Call
	audio, video *net.UDPConn
	aus          [][]byte
	ssrc         uint32
	keyNow       atomic.Bool  // the next picture sent is the IDR
	plis         atomic.Int64 // RTCP PLI/FIR received
	stop         chan struct{}
	wg           sync.WaitGroup

	mu      sync.Mutex
	last    *sdp.Session // our last offer
	remote  netip.AddrPort
	sendPT  uint8
	mode    int
	sending bool
	gwSSRC  uint32
	rx      *lkvPictures
	packets int
}

// dialLKVRoomSystem calls room demo, with video or without.
func dialLKVRoomSystem(t *testing.T, srv *harness.Server, withVideo bool) *lkvRoomSystem {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "gateway", "video", "testdata", "x264-320x180-15fps.h264"))
	if err != nil {
		t.Fatal(err)
	}
	rs := &lkvRoomSystem{t: t, aus: video.SplitAccessUnits(b), ssrc: 0x5eed0001, stop: make(chan struct{}), rx: newLKVPictures()}
	for _, c := range []**net.UDPConn{&rs.audio, &rs.video} {
		*c, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
	}
	rs.wg.Add(2)
	go rs.readVideo()
	go rs.sendVideo()
	t.Cleanup(rs.close)
	offer := rs.offer(withVideo)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs.call, err = uac.Dial(ctx, uac.Config{
		Target: "sip:demo@" + srv.SIPAddr, LocalIP: netip.MustParseAddr("127.0.0.1"),
		FromUser: "roomsystem", Offer: offer.Marshal(),
	})
	if err != nil {
		t.Fatalf("room system: INVITE: %v", err)
	}
	rs.answered(offer, rs.call.Answer())
	return rs
}

// offer is our SDP, with video or without (port 0).
func (rs *lkvRoomSystem) offer(withVideo bool) *sdp.Session {
	rs.t.Helper()
	rs.mu.Lock()
	prev := rs.last
	rs.mu.Unlock()
	p := sdp.Policy{
		Codecs: []sdp.Codec{sdp.PCMU}, Addr: netip.MustParseAddr("127.0.0.1"),
		AudioPort: rs.audio.LocalAddr().(*net.UDPAddr).Port, RTCPMux: true,
		H264Profiles: []sdp.H264Profile{sdp.H264ConstrainedBaseline},
		Video:        true, VideoPort: rs.video.LocalAddr().(*net.UDPAddr).Port,
		Previous: prev, Username: "roomsystem",
	}
	o, err := sdp.Offer(p)
	if err != nil {
		rs.t.Fatal(err)
	}
	if !withVideo {
		if prev == nil {
			o.Video = nil // an audio call
		} else {
			o.Video.Port = 0 // video removed (RFC 3264 §8.2)
		}
	}
	return o
}

// answered starts or stops sending by the gateway's answer to offer.
func (rs *lkvRoomSystem) answered(offer *sdp.Session, answer []byte) {
	rs.t.Helper()
	a, err := sdp.Parse(answer)
	if err != nil {
		rs.t.Fatalf("room system: the gateway's answer: %v\n%s", err, answer)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.last = offer
	if offer.Video == nil || offer.Video.Port == 0 || a.Video == nil || a.Video.Port == 0 || len(a.Video.Codecs) == 0 {
		rs.sending = false
		return
	}
	c := a.Video.Codecs[0]
	h, ok := sdp.ParseH264Fmtp(c.Fmtp)
	if !ok {
		rs.t.Fatalf("room system: answered video %v", c)
	}
	// The payload type of our offer for the format answered.
	rs.sendPT, rs.mode = c.PT, h.PacketizationMode
	for _, oc := range offer.Video.Codecs {
		if oh, ok := sdp.ParseH264Fmtp(oc.Fmtp); ok && oh.PacketizationMode == h.PacketizationMode {
			rs.sendPT = oc.PT
			break
		}
	}
	rs.remote = a.RTPAddr(a.Video)
	rs.sending = true
	rs.keyNow.Store(true)
}

// reinvite sends a re-INVITE adding or removing video.
func (rs *lkvRoomSystem) reinvite(withVideo bool) {
	rs.t.Helper()
	offer := rs.offer(withVideo)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := rs.call.ReInvite(ctx, offer.Marshal())
	if err != nil {
		rs.t.Fatalf("room system: re-INVITE (video %v): %v", withVideo, err)
	}
	rs.answered(offer, answer)
}

// sendVideo sends the file at 15 frames a second while video is on,
// from its IDR when asked.
func (rs *lkvRoomSystem) sendVideo() {
	defer rs.wg.Done()
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	var seq uint16
	var ts uint32
	buf := make([]byte, video.DefaultMTU)
	for i := 0; ; i++ {
		select {
		case <-rs.stop:
			return
		case <-tick.C:
		}
		ts += 90000 / 15
		rs.mu.Lock()
		on, to, pt, mode := rs.sending, rs.remote, rs.sendPT, rs.mode
		rs.mu.Unlock()
		if !on {
			continue
		}
		if rs.keyNow.Swap(false) {
			i = 0
		}
		_ = video.Payloads(rs.aus[i%len(rs.aus)], mode, buf[:video.DefaultMTU-12], func(payload []byte, marker bool) error {
			seq++
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: rs.ssrc, Marker: marker}, Payload: payload}
			b, err := pkt.Marshal()
			if err == nil {
				_, err = rs.video.WriteToUDPAddrPort(b, to)
			}
			return err
		})
	}
}

// readVideo depacketizes the gateway's RTP and counts its keyframe
// requests (RTCP on the same port: rtcp-mux).
func (rs *lkvRoomSystem) readVideo() {
	defer rs.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, err := rs.video.Read(buf)
		if err != nil {
			return
		}
		b := append([]byte(nil), buf[:n]...)
		if n > 1 && b[1] >= 192 && b[1] <= 223 { // RTCP (RFC 5761 §4)
			pkts, err := rtcp.Unmarshal(b)
			if err != nil {
				continue
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					rs.plis.Add(1)
					rs.keyNow.Store(true)
				}
			}
			continue
		}
		var p rtp.Packet
		if p.Unmarshal(b) != nil {
			continue
		}
		rs.mu.Lock()
		rs.gwSSRC = p.SSRC
		rs.packets++
		rs.rx.d.Push(&p)
		rs.mu.Unlock()
	}
}

// received returns a copy of what the room system received.
func (rs *lkvRoomSystem) received() (lkvPictures, int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.rx.snapshot(), rs.packets
}

// askKeyframe sends an RTCP PLI for the gateway's stream.
func (rs *lkvRoomSystem) askKeyframe() {
	rs.mu.Lock()
	to, media := rs.remote, rs.gwSSRC
	rs.mu.Unlock()
	b, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: rs.ssrc},
		&rtcp.PictureLossIndication{SenderSSRC: rs.ssrc, MediaSSRC: media},
	})
	if err != nil {
		rs.t.Fatal(err)
	}
	if _, err := rs.video.WriteToUDPAddrPort(b, to); err != nil {
		rs.t.Fatal(err)
	}
}

func (rs *lkvRoomSystem) hangup() {
	rs.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rs.call.Hangup(ctx); err != nil {
		rs.t.Errorf("room system: BYE: %v", err)
	}
}

// close ends the call if it still runs and stops the room system's
// goroutines, when the test ends.
func (rs *lkvRoomSystem) close() {
	close(rs.stop)
	if rs.call != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = rs.call.Hangup(ctx)
		cancel()
	}
	_ = rs.audio.Close()
	_ = rs.video.Close()
	rs.wg.Wait()
}

// lkvSIPID is the identity of the room's SIP participant, as the API lists it.
func lkvSIPID(t *testing.T, srv *harness.Server) string {
	t.Helper()
	ps, _ := sipWaitRoom(t, srv, "demo", 10*time.Second, nil, "the room system in the room",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	for _, p := range ps {
		if p.Kind == "sip" {
			return p.ID
		}
	}
	return ""
}

// lkvLiveKitIdentities lists the identities LiveKit has in room demo,
// hidden participants included.
func lkvLiveKitIdentities(t *testing.T, lk *lkServer) []string {
	t.Helper()
	rs := lksdk.NewRoomServiceClient(strings.Replace(lk.url(), "ws://", "http://", 1), lkKey, lkSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := rs.ListParticipants(ctx, &lkproto.ListParticipantsRequest{Room: "demo"})
	if err != nil {
		t.Fatalf("LiveKit ListParticipants: %v", err)
	}
	var ids []string
	for _, p := range res.Participants {
		ids = append(ids, p.Identity)
	}
	return ids
}

// lkvCompanions counts the gateway's receiving companions (identity
// "…~rx") in LiveKit's room.
func lkvCompanions(t *testing.T, lk *lkServer) int {
	n := 0
	for _, id := range lkvLiveKitIdentities(t, lk) {
		if strings.HasSuffix(id, "~rx") {
			n++
		}
	}
	return n
}

// lkvGoroutines is the gateway's go_goroutines.
func lkvGoroutines(t *testing.T, srv *harness.Server) int {
	t.Helper()
	n, err := strconv.Atoi(scrape(t.Context(), t, srv, "go_goroutines"))
	if err != nil {
		t.Fatalf("go_goroutines: %v", err)
	}
	return n
}

// lkvNoLeaks waits until the call has left LiveKit, its RTP ports are
// back and the gateway runs no more goroutines than before it (give or
// take a few of its own background ones).
func lkvNoLeaks(t *testing.T, lk *lkServer, srv *harness.Server, goroutines int) {
	t.Helper()
	waitUntil(t, 10*time.Second, "the call's participants gone from LiveKit", func() bool {
		for _, id := range lkvLiveKitIdentities(t, lk) {
			if strings.HasPrefix(id, "sip_") {
				return false
			}
		}
		return true
	})
	waitMetric(t, srv, "roombridge_rtp_ports_in_use", "0", 10*time.Second)
	var now int
	deadline := time.Now().Add(15 * time.Second)
	for now = lkvGoroutines(t, srv); now > goroutines+3; now = lkvGoroutines(t, srv) {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway runs %d goroutines after the call, %d before", now, goroutines)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("gateway goroutines: %d before the call, %d after", goroutines, now)
}

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
