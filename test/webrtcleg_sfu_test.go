package test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/sfu"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestWebRTCLegOpusUntouchedSFU: with the embedded SFU, a browser SIP
// client (a pion PeerConnection behind an INVITE over ws://, as JsSIP
// sends it) calls room demo and sends Opus frames of a tone. A web client
// of the room (the /r/ page's signalling, pion in place of Chromium) sees
// the caller as a participant of kind sip and receives its track, and
// every frame it receives is byte for byte one the browser sent: the
// gateway forwarded the Opus without decoding and re-encoding it.
func TestWebRTCLegOpusUntouchedSFU(t *testing.T) {
	g := startSIPWSGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	sub := newWebSubscriber(ctx, t, g.srv, "demo", harness.DemoPIN)
	track := browserSIPCall(ctx, t, "sip:demo@"+g.ws)
	const want = 100 // 2 s of frames at the subscriber
	sent := sendOpusTone(ctx, t, track, sub.count, want)
	frames, kinds := sub.result()
	if kinds["sip"] == 0 {
		t.Errorf("the web client was told of participants of kinds %v, none of kind sip", kinds)
	}
	foreign := foreignFrames(frames, sent)
	t.Logf("the web client received %d frames of the leg's track; %d not sent by the browser", len(frames), foreign)
	if foreign != 0 {
		t.Errorf("%d of %d frames the web client received are not frames the browser sent: the gateway re-encoded", foreign, len(frames))
	}
}

// webSubscriber is a web client of the embedded SFU that only receives:
// it keeps the payloads of the audio tracks it is sent and the kinds of
// the participants it is told of.
type webSubscriber struct {
	conn *websocket.Conn
	wmu  sync.Mutex
	pc   *webrtc.PeerConnection
	wg   sync.WaitGroup
	// closing is set when the test ends: an offer the SFU sends then
	// (the caller's hang-up renegotiates) meets a closed PeerConnection,
	// which is no failure of the test.
	closing atomic.Bool

	mu    sync.Mutex
	got   [][]byte
	kinds map[string]int
}

func newWebSubscriber(ctx context.Context, t *testing.T, srv *harness.Server, roomName, pin string) *webSubscriber {
	t.Helper()
	conn, res, err := websocket.DefaultDialer.DialContext(ctx, srv.WSURL("/v1/rtc"), http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.WSURL("/v1/rtc"), err)
	}
	_ = res.Body.Close()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	s := &webSubscriber{conn: conn, pc: pc, kinds: map[string]int{}}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		s.wg.Add(1)
		go s.read(tr)
	})
	t.Cleanup(func() {
		s.closing.Store(true)
		_ = conn.Close()
		_ = pc.Close()
		s.wg.Wait()
	})
	s.write(sfu.Message{Type: sfu.MsgJoin, Room: roomName, Name: "listener", PIN: pin})
	s.wg.Add(1)
	go s.readLoop(t)
	return s
}

func (s *webSubscriber) write(m sfu.Message) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = s.conn.WriteJSON(m)
}

// readLoop answers the SFU's offers for the subscribing PeerConnection
// (with every candidate in the answer) and notes who is in the room.
func (s *webSubscriber) readLoop(t *testing.T) {
	defer s.wg.Done()
	for {
		var m sfu.Message
		if err := s.conn.ReadJSON(&m); err != nil {
			return
		}
		switch m.Type {
		case sfu.MsgError:
			t.Errorf("web client: %s", m.Error)
		case sfu.MsgJoined:
			for _, p := range m.Participants {
				s.noteKind(p.Kind)
			}
		case sfu.MsgParticipantJoined:
			if m.Participant != nil {
				s.noteKind(m.Participant.Kind)
			}
		case sfu.MsgOffer:
			if err := s.answer(m.SDP); err != nil && !s.closing.Load() {
				t.Errorf("web client: answer: %v", err)
			}
		case sfu.MsgCandidate:
			if m.PC == sfu.PCSub && m.Candidate != nil {
				_ = s.pc.AddICECandidate(*m.Candidate)
			}
		}
	}
}

func (s *webSubscriber) answer(sdp string) error {
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	<-gathered
	s.write(sfu.Message{Type: sfu.MsgAnswer, PC: sfu.PCSub, SDP: s.pc.LocalDescription().SDP})
	return nil
}

func (s *webSubscriber) noteKind(kind string) {
	s.mu.Lock()
	s.kinds[kind]++
	s.mu.Unlock()
}

func (s *webSubscriber) read(tr *webrtc.TrackRemote) {
	defer s.wg.Done()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) == 0 {
			continue
		}
		s.mu.Lock()
		s.got = append(s.got, pkt.Payload)
		s.mu.Unlock()
	}
}

func (s *webSubscriber) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func (s *webSubscriber) result() ([][]byte, map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kinds := make(map[string]int, len(s.kinds))
	for k, v := range s.kinds {
		kinds[k] = v
	}
	return append([][]byte(nil), s.got...), kinds
}
