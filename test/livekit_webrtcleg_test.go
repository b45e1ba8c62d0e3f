package test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/test/internal/ports"
)

// TestLiveKitWebRTCLegOpusUntouched: with backend livekit, a browser SIP
// client (a pion PeerConnection behind a SIP-over-WebSocket INVITE, as
// JsSIP would send it) calls room demo and sends Opus frames of a tone. A
// plain LiveKit client in the room receives the leg's track, and every
// frame it receives is byte for byte one the browser sent: the gateway
// forwarded the Opus without decoding and re-encoding it.
func TestLiveKitWebRTCLegOpusUntouched(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	sipPort, err := ports.Dual()
	if err != nil {
		t.Fatal(err)
	}
	udp := fmt.Sprintf("127.0.0.1:%d", sipPort)
	ws := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	lk, _ := lkgwStart(t, fmt.Sprintf("sip: { listen: [udp://%s, tcp://%s, ws://%s] }", udp, udp, ws))

	sub := newLKRecorder(t, lk)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	track := browserSIPCall(ctx, t, "sip:demo@"+ws)
	const want = 100 // 2 s of frames at the subscriber
	sent := sendOpusTone(ctx, t, track, sub.count, want)
	frames, codec := sub.frames()
	foreign := foreignFrames(frames, sent)
	t.Logf("the LiveKit client received %d frames (%s) of the leg's track; %d not sent by the browser", len(frames), codec, foreign)
	if foreign != 0 {
		t.Errorf("%d of %d frames the LiveKit client received are not frames the browser sent: the gateway re-encoded", foreign, len(frames))
	}
}

// lkRecorder is a LiveKit client that keeps the payloads of the audio
// tracks of SIP participants as they arrive (RED unwrapped to its primary
// Opus frame).
type lkRecorder struct {
	mu    sync.Mutex
	got   [][]byte
	codec string
	wg    sync.WaitGroup
}

func newLKRecorder(t *testing.T, lk *lkServer) *lkRecorder {
	t.Helper()
	r := &lkRecorder{}
	cb := &lksdk.RoomCallback{ParticipantCallback: lksdk.ParticipantCallback{
		OnTrackSubscribed: func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
			if track.Kind() != webrtc.RTPCodecTypeAudio || rp.Kind() != lksdk.ParticipantSIP {
				return
			}
			r.wg.Add(1)
			go r.read(track)
		},
	}}
	room, err := lksdk.ConnectToRoom(lk.url(), lksdk.ConnectInfo{
		APIKey: lkKey, APISecret: lkSecret, RoomName: "demo", ParticipantIdentity: "recorder", ParticipantName: "recorder",
	}, cb)
	if err != nil {
		t.Fatalf("LiveKit client: %v", err)
	}
	t.Cleanup(func() {
		room.Disconnect()
		r.wg.Wait()
	})
	return r
}

func (r *lkRecorder) read(track *webrtc.TrackRemote) {
	defer r.wg.Done()
	red := track.Codec().MimeType == "audio/red"
	r.mu.Lock()
	r.codec = track.Codec().MimeType
	r.mu.Unlock()
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		payload := pkt.Payload
		if red {
			payload = redPrimary(payload)
		}
		if len(payload) == 0 {
			continue
		}
		r.mu.Lock()
		r.got = append(r.got, payload)
		r.mu.Unlock()
	}
}

func (r *lkRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *lkRecorder) frames() ([][]byte, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...), r.codec
}

// redPrimary is the primary encoding of an RFC 2198 RED payload: the
// block after the redundant ones, whose 4-byte headers have the F bit set
// and give their lengths; nil when the payload is malformed.
func redPrimary(p []byte) []byte {
	skip, i := 0, 0
	for i < len(p) && p[i]&0x80 != 0 {
		if i+4 > len(p) {
			return nil
		}
		skip += int(p[i+2]&0x03)<<8 | int(p[i+3])
		i += 4
	}
	i++ // the primary's one-byte header
	if i+skip > len(p) {
		return nil
	}
	return p[i+skip:]
}
