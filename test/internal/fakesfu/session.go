package fakesfu

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// session is one client: it answers the "pub" offer and echoes each
// received track on "sub", renegotiating sub one offer at a time.
type session struct {
	s    *Server
	ws   *websocket.Conn
	id   string
	wmu  sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
	once sync.Once

	pub, sub *webrtc.PeerConnection

	mu          sync.Mutex
	negotiating bool
	again       bool
}

func newSession(s *Server, ws *websocket.Conn, n int) *session {
	return &session{s: s, ws: ws, id: fmt.Sprintf("p%d", n), done: make(chan struct{})}
}

func (c *session) send(m Message) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteJSON(m)
}

func (c *session) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
		for _, pc := range []*webrtc.PeerConnection{c.pub, c.sub} {
			if pc != nil {
				_ = pc.Close()
			}
		}
	})
}

func (c *session) run() {
	c.wg.Add(1)
	defer c.wg.Done()
	defer c.close()
	for {
		var m Message
		if err := c.ws.ReadJSON(&m); err != nil {
			return
		}
		c.s.record(m)
		if err := c.handle(m); err != nil {
			c.s.logf("fakesfu: %s %s: %v", m.Type, m.PC, err)
			c.send(Message{Type: "error", Error: err.Error()})
			return
		}
	}
}

func (c *session) handle(m Message) error {
	switch m.Type {
	case "join":
		return c.join(m)
	case "offer":
		if m.PC != "pub" || c.pub == nil {
			return errors.New("offer must be for pub, after join")
		}
		if err := c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
			return err
		}
		answer, err := c.pub.CreateAnswer(nil)
		if err != nil {
			return err
		}
		if err := c.pub.SetLocalDescription(answer); err != nil {
			return err
		}
		c.send(Message{Type: "answer", PC: "pub", SDP: answer.SDP})
	case "answer":
		if m.PC != "sub" || c.sub == nil {
			return errors.New("answer must be for sub")
		}
		if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return err
		}
		c.mu.Lock()
		c.negotiating = false
		again := c.again
		c.again = false
		c.mu.Unlock()
		if again {
			c.negotiate()
		}
	case "candidate":
		pc := c.pub
		if m.PC == "sub" {
			pc = c.sub
		}
		if pc == nil || m.Candidate == nil {
			return errors.New("candidate before join")
		}
		return pc.AddICECandidate(*m.Candidate)
	case "mute":
		// Mirror the mute onto Echo, so the page shows it on a tile.
		muted := m.Muted != nil && *m.Muted
		p := Participant{ID: EchoID, Name: "Echo", Kind: "webrtc"}
		if m.Kind == "audio" {
			p.AudioMuted = muted
		} else {
			p.VideoMuted = muted
		}
		c.send(Message{Type: "participant_updated", Participant: &p})
	case "leave":
		c.close()
	}
	return nil
}

func (c *session) join(m Message) error {
	if c.pub != nil {
		return errors.New("joined twice")
	}
	if c.s.JoinError != "" {
		return errors.New(c.s.JoinError)
	}
	var err error
	if c.pub, err = c.s.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return err
	}
	if c.sub, err = c.s.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return err
	}
	for name, pc := range map[string]*webrtc.PeerConnection{"pub": c.pub, "sub": c.sub} {
		name := name
		pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
			if cand != nil {
				init := cand.ToJSON()
				c.send(Message{Type: "candidate", PC: name, Candidate: &init})
			}
		})
	}
	c.pub.OnTrack(c.echo)
	c.send(Message{
		Type:         "joined",
		Participant:  &Participant{ID: c.id, Name: m.Name, Kind: "webrtc"},
		Participants: []Participant{{ID: EchoID, Name: "Echo", Kind: "webrtc"}},
		ICEServers:   []webrtc.ICEServer{},
	})
	return nil
}

// echo forwards a published track back under EchoID and asks for a
// keyframe every second so a late subscriber still gets a picture.
func (c *session) echo(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, remote.Kind().String(), EchoID)
	if err != nil {
		c.s.logf("fakesfu: local track: %v", err)
		return
	}
	if _, err := c.sub.AddTrack(local); err != nil {
		c.s.logf("fakesfu: add track: %v", err)
		return
	}
	c.negotiate()
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-c.done:
					return
				case <-t.C:
					_ = c.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(remote.SSRC())}})
				}
			}
		}()
	}
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		if err := local.WriteRTP(pkt); err != nil {
			return
		}
	}
}

// negotiate sends a sub offer, or marks one as due if an offer is out.
func (c *session) negotiate() {
	c.mu.Lock()
	if c.negotiating {
		c.again = true
		c.mu.Unlock()
		return
	}
	c.negotiating = true
	c.mu.Unlock()
	offer, err := c.sub.CreateOffer(nil)
	if err == nil {
		err = c.sub.SetLocalDescription(offer)
	}
	if err != nil {
		c.s.logf("fakesfu: sub offer: %v", err)
		return
	}
	c.send(Message{Type: "offer", PC: "sub", SDP: offer.SDP})
}
