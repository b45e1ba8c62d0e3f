package test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/roomtest"
)

// lkVideoClient is a LiveKit client (the SDK, as LiveKit's own apps use it): the
// WebRTC client of the conformance suite's WebRTC subtests on LiveKit.
type lkVideoClient struct {
	id      string
	r       *lksdk.Room
	keyReqs atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	packets map[string]int
	remote  map[string]*lkRemoteVideo
}

type lkRemoteVideo struct {
	rp   *lksdk.RemoteParticipant
	ssrc webrtc.SSRC
}

var _ roomtest.WebRTCClient = (*lkVideoClient)(nil)

// joinLiveKitClient returns the roomtest.WebRTCJoin for the server s.
func joinLiveKitClient(s *lkServer) roomtest.WebRTCJoin {
	return func(t *testing.T, _ room.Backend, roomName, name string) roomtest.WebRTCClient {
		t.Helper()
		c := &lkVideoClient{id: name + "-" + roomName, stop: make(chan struct{}), packets: map[string]int{}, remote: map[string]*lkRemoteVideo{}}
		cb := &lksdk.RoomCallback{ParticipantCallback: lksdk.ParticipantCallback{OnTrackSubscribed: c.onTrack}}
		r, err := lksdk.ConnectToRoom(s.url(), lksdk.ConnectInfo{
			APIKey: lkKey, APISecret: lkSecret, RoomName: roomName,
			ParticipantIdentity: c.id, ParticipantName: name,
		}, cb)
		if err != nil {
			t.Fatalf("LiveKit client %s: %v", c.id, err)
		}
		c.r = r
		t.Cleanup(func() {
			// Disconnecting ends the remote tracks' readers.
			close(c.stop)
			r.Disconnect()
			c.wg.Wait()
		})
		return c
	}
}

func (c *lkVideoClient) ID() string { return c.id }

func (c *lkVideoClient) onTrack(tr *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if tr.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	owner := rp.Identity()
	c.mu.Lock()
	c.remote[owner] = &lkRemoteVideo{rp: rp, ssrc: tr.SSRC()}
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			c.mu.Lock()
			c.packets[owner]++
			c.mu.Unlock()
		}
	}()
}

func (c *lkVideoClient) PublishH264(t *testing.T, aus [][]byte) {
	t.Helper()
	lkPublishH264(t, c.r, 320, 240, 33*time.Millisecond, c.stop, &c.wg,
		func() { c.keyReqs.Add(1) }, func(i int) []byte { return aus[i%len(aus)] })
}

// lkPublishH264 publishes an H.264 camera of a LiveKit client, w×h,
// writing next(i) every interval until stop is closed (on wg); onKeyReq
// sees each RTCP PLI or FIR that reaches it.
func lkPublishH264(t *testing.T, r *lksdk.Room, w, h int, interval time.Duration, stop <-chan struct{}, wg *sync.WaitGroup, onKeyReq func(), next func(i int) []byte) {
	t.Helper()
	track, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, lksdk.WithRTCPHandler(func(p rtcp.Packet) {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			onKeyReq()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: "camera", Source: lkproto.TrackSource_CAMERA, VideoWidth: w, VideoHeight: h,
	}); err != nil {
		t.Fatalf("LiveKit client %s: publish: %v", r.LocalParticipant.Identity(), err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = track.WriteSample(media.Sample{Data: next(i), Duration: interval}, nil)
		}
	}()
}

func (c *lkVideoClient) KeyframeRequests() int { return int(c.keyReqs.Load()) }

func (c *lkVideoClient) VideoPackets(publisher string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.packets[publisher]
}

func (c *lkVideoClient) RequestKeyframe(publisher string) error {
	c.mu.Lock()
	rv := c.remote[publisher]
	c.mu.Unlock()
	if rv == nil {
		return errors.New("no video of that publisher")
	}
	rv.rp.WritePLI(rv.ssrc)
	return nil
}
