package roomtest_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/roomtest"
	"github.com/roombridge/roombridge/sfu"
)

// sfuClient is a WebRTC client of the embedded SFU over the web client's
// signalling (sfu/protocol.go), with pion on the client's side: the
// browser's stand-in for the conformance suite.
type sfuClient struct {
	id       string
	conn     *websocket.Conn
	wmu      sync.Mutex
	pub, sub *webrtc.PeerConnection
	keyReqs  atomic.Int64

	mu      sync.Mutex
	packets map[string]int    // by publisher
	ssrcs   map[string]uint32 // publisher's video SSRC

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ roomtest.WebRTCClient = (*sfuClient)(nil)

// joinSFU serves s's signalling on a test server and joins roomName.
func joinSFU(t *testing.T, b room.Backend, roomName, name string) roomtest.WebRTCClient {
	t.Helper()
	s := b.(*sfu.SFU)
	srv := httptest.NewServer(s.SignalHandler())
	t.Cleanup(srv.Close)
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &sfuClient{conn: conn, packets: map[string]int{}, ssrcs: map[string]uint32{}, ctx: ctx, cancel: cancel}
	c.write(sfu.Message{Type: sfu.MsgJoin, Room: roomName, Name: name})
	var joined sfu.Message
	if err := conn.ReadJSON(&joined); err != nil || joined.Type != sfu.MsgJoined {
		t.Fatalf("join: %v %+v", err, joined)
	}
	c.id = joined.Participant.ID
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	if c.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if c.sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	c.sub.OnTrack(c.onTrack)
	c.wg.Add(1)
	go c.readLoop(t)
	t.Cleanup(func() {
		c.cancel()
		_ = c.conn.Close()
		_ = c.pub.Close()
		_ = c.sub.Close()
		c.wg.Wait()
	})
	return c
}

func (c *sfuClient) ID() string { return c.id }

func (c *sfuClient) write(m sfu.Message) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = c.conn.WriteJSON(m)
}

// readLoop applies the server's messages in order; the client's own
// descriptions carry all its candidates (no trickle from this side).
func (c *sfuClient) readLoop(t *testing.T) {
	defer c.wg.Done()
	for {
		var m sfu.Message
		if err := c.conn.ReadJSON(&m); err != nil {
			return
		}
		var err error
		switch m.Type {
		case sfu.MsgAnswer:
			err = c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
		case sfu.MsgOffer:
			err = c.answerSub(m.SDP)
		case sfu.MsgCandidate:
			pc := c.pub
			if m.PC == sfu.PCSub {
				pc = c.sub
			}
			err = pc.AddICECandidate(*m.Candidate)
		}
		if err != nil && c.ctx.Err() == nil {
			t.Errorf("client %s: %s: %v", c.id, m.Type, err)
		}
	}
}

func (c *sfuClient) answerSub(sdp string) error {
	if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := c.sub.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(c.sub)
	if err := c.sub.SetLocalDescription(ans); err != nil {
		return err
	}
	<-gathered
	c.write(sfu.Message{Type: sfu.MsgAnswer, PC: sfu.PCSub, SDP: c.sub.LocalDescription().SDP})
	return nil
}

func (c *sfuClient) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if tr.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	owner := tr.StreamID()
	c.mu.Lock()
	c.ssrcs[owner] = uint32(tr.SSRC())
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

func (c *sfuClient) PublishH264(t *testing.T, aus [][]byte) {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "cam", c.id)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := c.pub.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					c.keyReqs.Add(1)
				}
			}
		}
	}()
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pub)
	if err := c.pub.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	c.write(sfu.Message{Type: sfu.MsgOffer, PC: sfu.PCPub, SDP: c.pub.LocalDescription().SDP})
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-c.ctx.Done():
				return
			case <-tick.C:
			}
			err := track.WriteSample(media.Sample{Data: aus[i%len(aus)], Duration: 33 * time.Millisecond})
			if err != nil && c.ctx.Err() != nil {
				return
			}
		}
	}()
}

func (c *sfuClient) KeyframeRequests() int { return int(c.keyReqs.Load()) }

func (c *sfuClient) VideoPackets(publisher string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.packets[publisher]
}

func (c *sfuClient) RequestKeyframe(publisher string) error {
	c.mu.Lock()
	ssrc, ok := c.ssrcs[publisher]
	c.mu.Unlock()
	if !ok {
		return errors.New("no video of that publisher")
	}
	return c.sub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}
