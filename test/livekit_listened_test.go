package test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/room"
)

// lkClient is a plain LiveKit client (what a browser with LiveKit's SDK
// is to the server) that subscribes to everything and counts the RTP
// packets it receives that carry ourMark (LiveKit itself sends a second of
// blank Opus frames when a track is muted).
type lkClient struct {
	room    *lksdk.Room
	packets atomic.Int64
	readers sync.WaitGroup
}

// ourMark is in every frame the test's leg sends.
var ourMark = []byte("roombridge-listened-test")

func connectClient(t *testing.T, s *lkServer, roomName, identity string) *lkClient {
	t.Helper()
	c := &lkClient{}
	cb := &lksdk.RoomCallback{ParticipantCallback: lksdk.ParticipantCallback{
		OnTrackSubscribed: func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
			c.readers.Add(1)
			go func() {
				defer c.readers.Done()
				for {
					pkt, _, err := track.ReadRTP()
					if err != nil {
						return
					}
					if bytes.Contains(pkt.Payload, ourMark) {
						c.packets.Add(1)
					}
				}
			}()
		},
	}}
	r, err := lksdk.ConnectToRoom(s.url(), lksdk.ConnectInfo{
		APIKey: lkKey, APISecret: lkSecret, RoomName: roomName, ParticipantIdentity: identity,
	}, cb)
	if err != nil {
		t.Fatalf("client %s: %v", identity, err)
	}
	c.room = r
	t.Cleanup(c.leave)
	return c
}

func (c *lkClient) leave() {
	c.room.Disconnect()
	c.readers.Wait()
}

// TestLiveKitListened: a phone leg encodes Opus only while someone outside
// the gateway hears it. With the gateway's hidden hub in the room (which
// never subscribes to its own node's legs) nobody does, and the leg writes
// empty frames; a LiveKit client that joins and subscribes makes it encode,
// and receives its packets; muted, it sends the client nothing; once the
// client has left it stops encoding again. A SIP leg of another gateway
// node (whose hub receives this leg without LiveKit saying so) counts as a
// listener too, and so does a recorder.
func TestLiveKitListened(t *testing.T) {
	if !enterLiveKitTest(t) {
		return
	}
	s := startLiveKit(t)
	b := newLiveKitBackend(t, s)
	ctx := context.Background()
	const roomName = "listened"

	own := map[string]bool{}
	var ownMu sync.Mutex
	_, hubGot := joinHub(t, b, roomName, func(id string) bool {
		ownMu.Lock()
		defer ownMu.Unlock()
		return !own[id]
	})
	leg, err := b.Join(ctx, roomName, room.ParticipantInfo{Identity: "sip_leg", Name: "+1555****01", Kind: room.ParticipantKindSIP})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Leave("test over")
	ownMu.Lock()
	own[leg.ID()] = true
	ownMu.Unlock()
	w, err := leg.PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lw, ok := w.(room.ListenedWriter)
	if !ok {
		t.Fatal("the LiveKit audio writer does not implement room.ListenedWriter")
	}

	// The leg's 20 ms clock, as gateway/leg.go does it: Opus only while
	// listened to (counted as encoder calls), an empty frame otherwise.
	var encoded, frames atomic.Int64
	stop := make(chan struct{})
	clock := make(chan struct{})
	go func() {
		defer close(clock)
		frame := append([]byte{0x78}, ourMark...)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			var err error
			if lw.Listened() {
				encoded.Add(1)
				err = w.WriteAudio(frame, 20*time.Millisecond)
			} else {
				err = w.WriteAudio(nil, 20*time.Millisecond)
			}
			if err != nil {
				return
			}
			frames.Add(1)
		}
	}()
	defer func() { close(stop); <-clock }()

	// Two seconds with only the hidden hub in the room: nothing encoded.
	waitUntil(t, 10*time.Second, "100 frames of the leg's clock", func() bool { return frames.Load() >= 100 })
	if n := encoded.Load(); n != 0 || lw.Listened() {
		t.Fatalf("%d frames encoded with only the gateway's hub in the room", n)
	}
	if n := hubGot.Load(); n != 0 {
		t.Fatalf("the hub received %d frames of its own node's leg", n)
	}

	for round := range 2 {
		c := connectClient(t, s, roomName, "web")
		waitUntil(t, 10*time.Second, "the leg listened to once a LiveKit client subscribed", lw.Listened)
		waitUntil(t, 10*time.Second, "the client receiving the leg's packets", func() bool { return c.packets.Load() >= 25 })
		if round == 0 {
			// Muted, the leg's frames reach nobody.
			if err := leg.SetMuted(room.TrackKindAudio, true); err != nil {
				t.Fatal(err)
			}
			before, e0 := c.packets.Load(), encoded.Load()
			waitUntil(t, 10*time.Second, "50 frames written while muted", func() bool { return encoded.Load() >= e0+50 })
			// A few may have been on their way when the mute began.
			if got := c.packets.Load() - before; got > 3 {
				t.Errorf("the client received %d packets from a muted leg over 50 frames", got)
			}
			if err := leg.SetMuted(room.TrackKindAudio, false); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, 10*time.Second, "packets again once unmuted", func() bool { return c.packets.Load() >= before+25 })
		}
		c.leave()
		waitUntil(t, 10*time.Second, "the leg not listened to once the client left", func() bool { return !lw.Listened() })
		e0 := encoded.Load()
		f0 := frames.Load()
		waitUntil(t, 10*time.Second, "50 more frames", func() bool { return frames.Load() >= f0+50 })
		if n := encoded.Load() - e0; n > 1 { // one frame may have been deciding as the client left
			t.Fatalf("%d frames encoded after the client left", n)
		}
	}

	// Another gateway node's SIP leg in the room: its hidden hub hears this
	// leg, so the leg encodes.
	other := newLiveKitBackend(t, s)
	otherLeg, err := other.Join(ctx, roomName, room.ParticipantInfo{Identity: "sip_other_node", Name: "+1555****02", Kind: room.ParticipantKindSIP})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the leg listened to with another node's leg in the room", lw.Listened)
	if err := otherLeg.Leave("done"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the leg not listened to once the other node's leg left", func() bool { return !lw.Listened() })

	// A recorder (what LiveKit's egress joins as: hidden, so LiveKit says
	// nothing of its subscriptions) makes the room a recorded one.
	token, err := auth.NewAccessToken(lkKey, lkSecret).SetIdentity("EG_recorder").
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: roomName, Hidden: true, Recorder: true}).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	rec := lksdk.NewRoom(nil)
	if err := rec.JoinWithToken(s.url(), token, lksdk.WithAutoSubscribe(false)); err != nil {
		t.Fatalf("recorder: %v", err)
	}
	waitUntil(t, 10*time.Second, "the leg listened to while the room is recorded", lw.Listened)
	rec.Disconnect()
	waitUntil(t, 10*time.Second, "the leg not listened to once the recorder left", func() bool { return !lw.Listened() })
}
