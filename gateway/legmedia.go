package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roombridge/roombridge/gateway/bridge"
	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
)

// legMedia is the media side of one SIP leg, whichever way its call went:
// the RTP ports, the outcome of offer/answer and of the peer's
// re-INVITEs, the leg's stages and RTP session, and its place in a room
// (participant, audio track, room hub). Calls that came in (call) and
// dial-outs (outLeg) embed it, so both join rooms, carry audio and apply
// the re-key rules the same way.
type legMedia struct {
	g   *Gateway
	log *slog.Logger
	id  string // participant identity

	// ctx ends the leg; context.Cause says why.
	ctx    context.Context
	cancel context.CancelCauseFunc

	dtmfMode dtmf.Mode
	// sendTE is the peer's telephone-event, set before startMedia on legs
	// that send digits (dial-outs); nil on the others.
	sendTE *sdp.Codec
	// digits receives the digits found in the leg's media (RFC 4733,
	// in-band) and, for calls, those of INFO requests.
	digits chan dtmf.Digit

	// Set by the goroutine that owns the leg; read through the atomics
	// by Quality and metrics.
	roomName string
	room     atomic.Pointer[string] // roomName, once joined
	ports    *rtp.PortPair
	part     room.Participant
	writer   room.AudioWriter
	hub      *roomHub
	inHub    bool
	sess     atomic.Pointer[rtp.Session]
	leg      atomic.Pointer[bridge.Leg]
	// rtc is the media transport of a WebRTC leg (webrtcleg.go) instead
	// of ports and sess; set under mu.
	rtc      WebRTCLeg
	answered atomic.Int64 // unix nanoseconds of the answer, 0 before

	// mu orders offer/answer: the initial exchange and re-INVITEs.
	mu     sync.Mutex
	policy sdp.Policy
	neg    *negotiated

	// video is the leg's video, when its owner carries one (a room
	// system's call, callvideo.go); nil otherwise.
	video videoHooks
}

// videoHooks is a leg's video: it takes part in the leg's re-INVITEs and
// ends with the leg.
type videoHooks interface {
	// reinviteVideoPolicy prepares the policy of the answer to offer o.
	reinviteVideoPolicy(o *sdp.Session, p *sdp.Policy)
	// reinviteVideo applies answer a to offer o; legMedia.mu is held.
	reinviteVideo(o, a *sdp.Session) error
	// fitAnswer answers o under p as sdp.Answer does, leaving out what
	// would make the 200 OK too large for UDP.
	fitAnswer(o *sdp.Session, p *sdp.Policy) (*sdp.Session, error)
	videoTeardown() error
}

// joinParticipant makes the leg's participant in a room as info
// describes, one that publishes one Opus track, in one of the join queue's
// slots, and puts the room's audio hub on this node. What it made is in
// m for release, also when it fails half way; the caller records the
// join (m.room) once it may be reported.
func (m *legMedia) joinParticipant(roomName string, info room.ParticipantInfo) error {
	// The hub (if this is the room's first leg here) joins beside us, and
	// learns our identity before we publish.
	m.hub = m.g.joinHub(roomName, m.id)
	release, err := m.g.joins.acquire(m.ctx)
	if err != nil {
		return err
	}
	p, err := m.g.backendOf(roomName).Join(m.ctx, roomName, info)
	release()
	if err != nil {
		return fmt.Errorf("%w: join: %w", ErrBackend, err)
	}
	m.part = p
	m.roomName = roomName
	if err := m.hub.wait(m.ctx); err != nil {
		return err
	}
	m.writer, err = p.PublishAudio(room.AudioCodec{
		MimeType: codec.Opus.MIME(), ClockRate: codec.Opus.ClockRate(), Channels: 2, FrameDuration: bridge.FrameDuration,
	})
	if err != nil {
		return fmt.Errorf("%w: publish: %w", ErrBackend, err)
	}
	return nil
}

// enterHub hands the leg to its room hub's clock, after stopping its own
// clock if the IVR ran one.
func (m *legMedia) enterHub() error {
	l := m.leg.Load()
	l.StopClock()
	l.Publish(m.writer)
	if err := m.hub.Add(l); err != nil {
		return err
	}
	m.inHub = true
	return nil
}

// startMedia builds the leg and its RTP session from the negotiation;
// promptDone is the leg's prompt player callback (nil for none).
func (m *legMedia) startMedia(neg *negotiated, promptDone func(uint64)) error {
	p := bridge.LegConfig{
		ID: m.id, Codec: neg.codec, RecvPT: neg.recvPT, SendPT: neg.sendPT,
		Digits: m.digits, PromptDone: promptDone, Opus: neg.opusParams(),
	}
	peerTE := neg.te != nil
	if peerTE && m.dtmfMode.Accepts(dtmf.SourceRFC4733, true) {
		p.TEPT, p.TERate = neg.te.PT, int(neg.te.ClockRate)
	}
	if m.sendTE != nil {
		p.SendTEPT, p.SendTERate = m.sendTE.PT, int(m.sendTE.ClockRate)
	}
	p.InbandDTMF = m.dtmfMode.Inband(peerTE)
	l, err := bridge.NewLeg(p)
	if err != nil {
		return err
	}
	sess, err := rtp.NewSession(rtp.SessionConfig{
		Ports:       m.ports,
		PayloadType: neg.recvPT,
		ClockRate:   neg.codec.ClockRate(),
		Remote:      neg.remoteRTP,
		RemoteRTCP:  neg.remoteRTCP,
		RTCPMux:     neg.rtcpMux,
		SRTP:        neg.srtp,
		Timeout:     m.g.cfg.RTPTimeout,
		Codec:       neg.codec,
		Handler:     l,
		Logger:      m.log,
	})
	if err != nil {
		return err
	}
	l.Attach(sess)
	sess.OnSSRCChange(func(_, _ uint32) { l.ResetStream() })
	sess.OnTimeout(func() { m.cancel(rtp.ErrTimeout) })
	if neg.hold {
		l.SetHold(true)
		sess.SetTimeoutEnabled(false)
	}
	m.sess.Store(sess)
	m.mu.Lock()
	m.neg = neg
	m.mu.Unlock()
	m.leg.Store(l)
	return nil
}

// reinvite answers an offer in a re-INVITE or UPDATE (RFC 3264 §8): hold
// and resume, a new address, a session refresh. The codec stays the one
// negotiated first, so the leg never switches codecs mid-call.
func (m *legMedia) reinvite(offer []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.neg == nil {
		return nil, fmt.Errorf("%w: media not set up yet", sip.ErrNotAcceptable)
	}
	if m.rtc != nil {
		return m.reinviteWebRTC(offer)
	}
	if offer == nil {
		return m.neg.local.Marshal(), nil
	}
	o, err := sdp.Parse(offer)
	if err != nil {
		return nil, sdpError(err)
	}
	p := m.policy
	p.Codecs = []sdp.Codec{m.neg.sdpCodec}
	p.Previous = m.neg.local
	answer := func(o *sdp.Session, p *sdp.Policy) (*sdp.Session, error) { return sdp.Answer(o, *p) }
	if m.video != nil {
		m.video.reinviteVideoPolicy(o, &p)
		answer = m.video.fitAnswer
	}
	a, err := answer(o, &p)
	if err != nil {
		return nil, sdpError(err)
	}
	if m.neg.te == nil && a.Audio != nil {
		// Not used on this call (trunk mode, or not in the first offer).
		a.Audio.TelephoneEvent, a.Audio.TelephoneEvents = nil, nil
	}
	keys, err := srtpKeys(o.Audio, a.Audio, false)
	if err != nil {
		return nil, err
	}
	l, sess := m.leg.Load(), m.sess.Load()
	// The new outcome replaces m.neg whole: readers that took the old
	// pointer (negotiated) read it without the lock.
	next := *m.neg
	switch {
	case keys == nil && m.neg.srtp != nil:
		return nil, fmt.Errorf("%w: a re-INVITE may not turn SRTP off", sip.ErrNotAcceptable)
	case !sameSRTP(keys, m.neg.srtp):
		// RFC 4568 §7.1.4: new keys in a re-offer re-key the session.
		if err := sess.Rekey(keys); err != nil {
			return nil, fmt.Errorf("%w: re-key: %w", sip.ErrNotAcceptable, err)
		}
		next.srtp = keys
		m.log.Info("SRTP re-keyed by re-INVITE")
	}
	if m.video != nil {
		if err := m.video.reinviteVideo(o, a); err != nil {
			return nil, err
		}
	}
	hold := o.OnHold(o.Audio)
	if hold != l.OnHold() {
		m.log.Info("hold changed", "hold", hold)
	}
	l.SetHold(hold)
	sess.SetTimeoutEnabled(!hold)
	if addr := o.RTPAddr(o.Audio); addr.IsValid() && !addr.Addr().IsUnspecified() {
		sess.SetRemote(addr, o.RTCPAddr(o.Audio))
	}
	next.local, next.remote, next.hold = a, o, hold
	m.neg = &next
	return a.Marshal(), nil
}

func (m *legMedia) negotiated() *negotiated {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.neg
}

// release frees what the leg holds, the hub first so that the clock stops
// using the leg before its writer and session close; left runs once the
// participant has left its room.
func (m *legMedia) release(left func()) error {
	var errs []error
	if l := m.leg.Load(); l != nil {
		l.StopClock()
	}
	if m.hub != nil {
		var l *bridge.Leg
		if m.inHub {
			l = m.leg.Load()
		}
		m.g.leaveHub(m.hub, m.id, l)
	}
	if m.writer != nil {
		errs = append(errs, m.writer.Close())
	}
	if m.video != nil {
		errs = append(errs, m.video.videoTeardown())
	}
	if m.part != nil {
		errs = append(errs, m.part.Leave("hangup"))
		if left != nil {
			left()
		}
	}
	if s := m.sess.Load(); s != nil {
		errs = append(errs, s.Close())
	}
	if m.rtc != nil {
		errs = append(errs, m.rtc.Close())
	}
	if m.ports != nil {
		errs = append(errs, m.ports.Close())
	}
	return errors.Join(errs...)
}

// rtpTotals is the leg's packet counters so far.
func (m *legMedia) rtpTotals() rtpTotals {
	s := m.sess.Load()
	if s == nil {
		return rtpTotals{}
	}
	st := s.Stats()
	return rtpTotals{
		received: float64(st.PacketsReceived),
		sent:     float64(st.PacketsSent),
		lost:     float64(max(st.PacketsLost, 0)),
	}
}

// finalMOS is the leg's MOS estimate, 0 for legs that carried no media.
func (m *legMedia) finalMOS() float64 {
	s := m.sess.Load()
	if s == nil || m.answered.Load() == 0 || s.Stats().PacketsReceived == 0 {
		return 0
	}
	return s.MOS()
}

// legQuality is the quality of the leg l with session s, whose signalling
// runs over transport.
func (m *legMedia) legQuality(l *bridge.Leg, s *rtp.Session, transport string) LegQuality {
	st := s.Stats()
	q := LegQuality{
		Codec:              l.Codec().String(),
		Transport:          transport,
		OnHold:             l.OnHold(),
		PacketsReceived:    st.PacketsReceived,
		PacketsSent:        st.PacketsSent,
		PacketsLost:        st.PacketsLost,
		LossFraction:       st.LossFraction,
		Jitter:             st.Jitter,
		RemoteLossFraction: st.RemoteLossFraction,
		RemoteJitter:       st.RemoteJitter,
		RTT:                st.RTT,
		MOS:                s.MOS(),
	}
	if n := m.negotiated(); n != nil {
		q.SRTP = n.srtp != nil
	}
	if at := m.answered.Load(); at != 0 {
		q.Duration = time.Since(time.Unix(0, at)).Round(time.Millisecond)
	}
	if st.ReportsReceived > 0 {
		q.RemoteMOS = rtp.EstimateMOS(rtp.Quality{
			Codec: l.Codec(),
			Loss:  st.RemoteLossFraction,
			Delay: st.RTT/2 + st.RemoteJitter*2 + bridge.FrameDuration,
		})
	}
	return q
}
