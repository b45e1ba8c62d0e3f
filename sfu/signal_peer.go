package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/roombridge/roombridge/gateway/room"
)

var (
	errLeft     = errors.New("left")
	errPCFailed = errors.New("peer connection failed")
)

// rtcPeer is one web client: its signalling socket and its two
// PeerConnections. Callbacks (socket messages, pion events, room changes)
// only post operations; one loop applies them in order, so that SDP and
// transceiver changes never interleave and never two sub offers are out.
type rtcPeer struct {
	s    *SFU
	m    *member
	conn *websocket.Conn
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc
	out    chan Message
	wg     sync.WaitGroup

	opMu     sync.Mutex
	ops      []func()
	opSignal chan struct{}
	// closing stops pion callbacks from starting goroutines once cleanup
	// waits for them.
	closing bool

	pub, sub *webrtc.PeerConnection
	// downOut writes the down tracks' packets to sub from a goroutine of its
	// own (counted in wg), so that forwarders never wait for this client.
	downOut  *subSender
	pubGate  candidateGate
	subGate  candidateGate
	roomName string

	// sources are the video sources the client named (signal_source.go).
	srcMu   sync.Mutex
	sources map[string]room.TrackSource

	// Owned by the op loop.
	downs         map[*pubTrack]*downTrack
	pendingPub    []webrtc.ICECandidateInit
	pendingSub    []webrtc.ICECandidateInit
	offerOut      bool // a sub offer waits for its answer
	needNegotiate bool

	// subUp is set while the sub PeerConnection is connected: a keyframe
	// asked for before then would reach nobody.
	subUp atomic.Bool
}

func newRTCPeer(s *SFU, conn *websocket.Conn, roomName, name string, attrs map[string]string) (*rtcPeer, error) {
	id := newID("PA_")
	m := &member{
		id: id, name: name, kind: room.ParticipantKindWebRTC, joinedAt: time.Now(), attrs: attrs,
		log: s.log.With("room", roomName, "participant", id, "kind", "webrtc"),
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	p := &rtcPeer{
		s: s, m: m, conn: conn, log: m.log, ctx: ctx, cancel: cancel, roomName: roomName,
		out: make(chan Message, outQueue), opSignal: make(chan struct{}, 1),
		downs: map[*pubTrack]*downTrack{}, downOut: newSubSender(s.m),
	}
	m.peer = p
	var err error
	if p.pub, err = p.newPC(PCPub, &p.pubGate); err != nil {
		cancel(err)
		return nil, err
	}
	if p.sub, err = p.newPC(PCSub, &p.subGate); err != nil {
		cancel(err)
		_ = p.pub.Close()
		return nil, err
	}
	p.pub.OnTrack(p.onTrack)
	return p, nil
}

// newPC makes one of the two PeerConnections with trickle ICE towards the
// client (held back until the description carrying them has been sent).
func (p *rtcPeer) newPC(name string, gate *candidateGate) (*webrtc.PeerConnection, error) {
	pc, err := p.s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("sfu: new %s peer connection: %w", name, err)
	}
	gate.send = func(c webrtc.ICECandidateInit) {
		p.send(Message{Type: MsgCandidate, PC: name, Candidate: &c})
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			gate.offer(c.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.log.Debug("peer connection state", "pc", name, "state", st.String())
		if name == PCSub {
			p.subConnected(st == webrtc.PeerConnectionStateConnected)
		}
		if st == webrtc.PeerConnectionStateFailed {
			p.cancel(fmt.Errorf("%w: %s", errPCFailed, name))
		}
	})
	return pc, nil
}

// run serves the participant until it leaves, then cleans up; it runs in the
// HTTP handler's goroutine.
func (p *rtcPeer) run() {
	r, err := p.s.admit(p.roomName, p.m)
	if err != nil {
		p.log.Info("join failed", "err", err)
		_ = p.pub.Close()
		_ = p.sub.Close()
		p.cancel(err)
		rejectConn(p.conn, err.Error())
		return
	}
	self := participantJSON(p.selfState())
	others := r.visibleStates(p.m)
	joined := Message{Type: MsgJoined, Participant: &self, ICEServers: p.s.cfg.ICEServers, Participants: []ParticipantJSON{}, VideoCodec: r.videoCodecHint()}
	if f := p.s.cfg.DialIn; f != nil {
		joined.DialIn = f(p.ctx, p.roomName)
	}
	for _, o := range others {
		joined.Participants = append(joined.Participants, participantJSON(o))
	}
	p.send(joined)
	p.log.Info("participant joined", "name", p.m.name)

	p.wg.Add(2)
	go p.writeLoop()
	go p.opLoop()
	p.downOut.start(&p.wg)
	r.subscribeExisting(p.m)
	p.readLoop()

	cause := context.Cause(p.ctx)
	p.s.depart(p.m)
	p.opMu.Lock()
	p.closing = true
	p.opMu.Unlock()
	// The op loop has returned (ctx is done) or returns shortly; closing
	// the PeerConnections ends the track readers and RTCP readers, and
	// makes a write the sender is blocked in return.
	errs := errors.Join(p.pub.Close(), p.sub.Close())
	p.downOut.close()
	p.wg.Wait()
	for t, d := range p.downs {
		t.removeSubscriber(d)
	}
	_ = p.conn.Close()
	p.log.Info("participant left", "cause", cause, "close_err", errs)
}

func (p *rtcPeer) selfState() room.ParticipantState {
	return room.ParticipantState{ID: p.m.id, Name: p.m.name, Kind: p.m.kind, JoinedAt: p.m.joinedAt}
}

// post queues fn for the op loop; it never blocks.
func (p *rtcPeer) post(fn func()) {
	p.opMu.Lock()
	p.ops = append(p.ops, fn)
	p.opMu.Unlock()
	select {
	case p.opSignal <- struct{}{}:
	default:
	}
}

func (p *rtcPeer) opLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.opSignal:
		}
		for {
			p.opMu.Lock()
			ops := p.ops
			p.ops = nil
			p.opMu.Unlock()
			if len(ops) == 0 {
				break
			}
			for _, fn := range ops {
				if p.ctx.Err() != nil {
					return
				}
				fn()
			}
		}
		if p.needNegotiate && !p.offerOut {
			p.negotiate()
		}
	}
}
