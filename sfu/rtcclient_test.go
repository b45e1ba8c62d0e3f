package sfu

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/roombridge/roombridge/gateway/media/opus"
)

// rtcClient is a test web client: the real signalling protocol over a real
// WebSocket, with pion PeerConnections on the other side.
type rtcClient struct {
	t    testing.TB
	conn *websocket.Conn
	id   string

	wmu      sync.Mutex
	pub, sub *webrtc.PeerConnection
	msgs     chan Message
	audio    pcmSink
	packets  atomic.Int64
	videoPkt atomic.Int64
	// remb is the last REMB the SFU sent about the published video;
	// videoSSRC the SSRC of the video last subscribed to.
	remb      atomic.Uint64
	videoSSRC atomic.Uint32
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closed    chan struct{}
	closeErr  error
}

func newClientAPI(t testing.TB) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// dialClient joins room as name; it returns the joined message, or the
// error message the server answered with.
func dialClient(t testing.TB, url, roomName, name, token string) (*rtcClient, Message) {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &rtcClient{t: t, conn: conn, msgs: make(chan Message, 1024), ctx: ctx, cancel: cancel, closed: make(chan struct{})}
	c.write(Message{Type: MsgJoin, Room: roomName, Name: name, Token: token})
	var first Message
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := conn.ReadJSON(&first); err != nil {
		t.Fatalf("read joined: %v", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	if first.Type != MsgJoined {
		cancel()
		_ = conn.Close()
		return nil, first
	}
	c.id = first.Participant.ID
	api := newClientAPI(t)
	for _, pc := range []*(*webrtc.PeerConnection){&c.pub, &c.sub} {
		if *pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
			t.Fatal(err)
		}
	}
	c.pub.OnICECandidate(c.trickle(PCPub))
	c.sub.OnICECandidate(c.trickle(PCSub))
	c.sub.OnTrack(c.onTrack)
	c.wg.Add(1)
	go c.readLoop()
	t.Cleanup(c.close)
	return c, first
}

func (c *rtcClient) write(m Message) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = c.conn.WriteJSON(m)
}

func (c *rtcClient) trickle(pc string) func(*webrtc.ICECandidate) {
	return func(cand *webrtc.ICECandidate) {
		if cand != nil {
			init := cand.ToJSON()
			c.write(Message{Type: MsgCandidate, PC: pc, Candidate: &init})
		}
	}
}

func (c *rtcClient) readLoop() {
	defer c.wg.Done()
	defer close(c.closed)
	for {
		var m Message
		if err := c.conn.ReadJSON(&m); err != nil {
			c.closeErr = err
			return
		}
		if err := c.apply(m); err != nil && c.ctx.Err() == nil {
			c.t.Errorf("client %s: %s: %v", c.id, m.Type, err)
		}
		select {
		case c.msgs <- m:
		default:
		}
	}
}

func (c *rtcClient) apply(m Message) error {
	switch m.Type {
	case MsgAnswer:
		return c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
	case MsgOffer:
		if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
			return err
		}
		ans, err := c.sub.CreateAnswer(nil)
		if err != nil {
			return err
		}
		if err := c.sub.SetLocalDescription(ans); err != nil {
			return err
		}
		c.write(Message{Type: MsgAnswer, PC: PCSub, SDP: ans.SDP})
	case MsgCandidate:
		pc := c.pub
		if m.PC == PCSub {
			pc = c.sub
		}
		return pc.AddICECandidate(*m.Candidate)
	}
	return nil
}

// onTrack decodes received audio into c.audio and counts video packets.
func (c *rtcClient) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			c.videoSSRC.Store(uint32(tr.SSRC()))
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				c.videoPkt.Add(1)
			}
		}
		dec, err := opus.NewDecoder(48000, 1)
		if err != nil {
			c.t.Error(err)
			return
		}
		pcm := make([]int16, 5760)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			c.packets.Add(1)
			if n, err := dec.Decode(pkt.Payload, pcm); err == nil {
				c.audio.add(pcm[:n])
			}
		}
	}()
}

// publishTone publishes an Opus tone on the "pub" connection.
func (c *rtcClient) publishTone(freq float64) {
	c.t.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", c.id)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.pub.AddTrack(track); err != nil {
		c.t.Fatal(err)
	}
	c.offerPub()
	frames := newToneFrames(c.t, freq)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		pace(c.ctx, func() error {
			f, err := frames.next()
			if err != nil {
				return err
			}
			return track.WriteSample(media.Sample{Data: f, Duration: 20 * time.Millisecond})
		})()
	}()
}

// publishVideo publishes a VP8 track of fake frames and returns its
// keyframe request counter (PLIs received from the SFU).
func (c *rtcClient) publishVideo() *atomic.Int64 {
	c.t.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", c.id)
	if err != nil {
		c.t.Fatal(err)
	}
	sender, err := c.pub.AddTrack(track)
	if err != nil {
		c.t.Fatal(err)
	}
	var plis atomic.Int64
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				switch p := p.(type) {
				case *rtcp.PictureLossIndication:
					plis.Add(1)
				case *rtcp.ReceiverEstimatedMaximumBitrate:
					c.remb.Store(uint64(p.Bitrate))
				}
			}
		}
	}()
	c.offerPub()
	frame := make([]byte, 3000)
	go func() {
		defer c.wg.Done()
		pace(c.ctx, func() error {
			return track.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
		})()
	}()
	return &plis
}

func (c *rtcClient) offerPub() {
	c.t.Helper()
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.pub.SetLocalDescription(offer); err != nil {
		c.t.Fatal(err)
	}
	c.write(Message{Type: MsgOffer, PC: PCPub, SDP: offer.SDP})
}

// expect waits for a message of type typ matching ok (nil matches any).
func (c *rtcClient) expect(typ string, timeout time.Duration, ok func(Message) bool) Message {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-c.msgs:
			if m.Type == typ && (ok == nil || ok(m)) {
				return m
			}
		case <-deadline:
			c.t.Fatalf("client %s: no %q message within %v", c.id, typ, timeout)
			return Message{}
		}
	}
}

func (c *rtcClient) String() string { return fmt.Sprintf("client %s", c.id) }

// close leaves, closes everything and waits for the client's goroutines.
func (c *rtcClient) close() {
	c.cancel()
	c.write(Message{Type: MsgLeave})
	_ = c.conn.Close()
	_ = c.pub.Close()
	_ = c.sub.Close()
	c.wg.Wait()
}
