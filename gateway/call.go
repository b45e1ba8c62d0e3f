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
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/ivr"
	"github.com/roombridge/roombridge/ivr/prompts"
)

// call is one SIP leg from INVITE to hang-up. It lives as long as
// Gateway.HandleCall: its context is cancelled with a cause when it must
// end, and everything it started (ports, RTP session, room participant,
// its place in the room hub) is released before HandleCall returns.
type call struct {
	g     *Gateway
	ic    *sip.IncomingCall
	log   *slog.Logger
	start time.Time
	id    string // participant identity

	ctx    context.Context
	cancel context.CancelCauseFunc

	// Set during setup by the handler goroutine; read by teardown on the
	// same goroutine, and through the atomics by Quality and metrics.
	roomName string
	room     atomic.Pointer[string] // roomName, once joined
	host     bool                   // joined with the host PIN
	prompts  *prompts.Set
	lockKeys []string
	dtmfMode dtmf.Mode

	// digits come from the leg (RFC 4733, in-band) and from INFO; the
	// handler goroutine merges them (merger) and acts on them. promptEnded
	// carries the ids of prompts played to their end by the leg's clock.
	digits      chan dtmf.Digit
	promptEnded chan uint64
	merger      *dtmf.Merger
	merged      []dtmf.Digit
	star        time.Time // when * started an in-call command
	promptSeq   uint64
	ports       *rtp.PortPair
	part        room.Participant
	writer      room.AudioWriter
	hub         *roomHub
	inHub       bool
	sess        atomic.Pointer[rtp.Session]
	leg         atomic.Pointer[bridge.Leg]
	rtc         WebRTCLeg    // the media of a WebRTC leg (webrtcleg.go), else nil; set under mu
	answered    atomic.Int64 // unix nanoseconds of the ACK, 0 before
	pending     *pendingJoin // a direct call's background join (join.go)

	vid callVideo

	// mu orders offer/answer: the initial exchange and re-INVITEs.
	mu     sync.Mutex
	policy sdp.Policy
	neg    *negotiated
}

func newCall(g *Gateway, ic *sip.IncomingCall, start time.Time, log *slog.Logger) *call {
	c := &call{
		g: g, ic: ic, log: log, start: start, id: legIdentity(ic.CallID()),
		digits:      make(chan dtmf.Digit, digitQueue),
		promptEnded: make(chan uint64, 4),
		merged:      make([]dtmf.Digit, 0, 8),
	}
	c.merger, _ = dtmf.NewMerger(dtmf.MergerConfig{})
	c.ctx, c.cancel = context.WithCancelCause(ic.Context())
	return c
}

// run takes the call from routing to its end and returns the result label
// for metrics and the cause of the end.
func (c *call) run() (result string, err error) {
	defer c.cancel(ErrCallDone)
	defer func() {
		if terr := c.teardown(); terr != nil {
			c.log.Warn("call teardown", "err", terr)
		}
	}()

	var lockMode string
	if t := c.ic.Trunk(); t != nil {
		lockMode = t.PINLockout
	}
	c.lockKeys = lockoutKeys(c.ic.Source(), c.ic.From().User, lockMode)
	if key, locked := c.g.lock.Locked(c.lockKeys...); locked {
		c.g.m.ivrOutcomes.WithLabelValues(outcomeLockedOut).Inc()
		c.log.Info("call refused: locked out after wrong PINs", "key", c.g.logKey(key))
		return c.reject(ErrLockedOut)
	}
	dest, err := c.g.route(c.ctx, c.ic)
	if err != nil {
		return c.reject(err)
	}
	if !dest.ivr {
		c.log = c.log.With("room", dest.room.Name, "participant", c.id)
	} else {
		c.log = c.log.With("ivr", true, "participant", c.id)
	}

	webrtc := c.g.isWebRTCOffer(c.ic.Offer())
	if !webrtc {
		c.ports, err = c.g.cfg.PortPool.Allocate()
		if err != nil {
			return c.reject(fmt.Errorf("%w: %w", ErrNoPorts, err))
		}
		c.policy = c.g.policy(c.ic, c.ports)
		if c.videoWanted() {
			if err := c.reserveVideo(&c.policy); err != nil {
				c.log.Warn("video not negotiated", "err", err)
			}
		}
	}
	c.dtmfMode = c.g.dtmfMode(c.ic.Trunk())
	c.ic.OnReInvite(c.reinvite)
	c.ic.OnInfo(c.info)

	// With an offer in the INVITE we answer it now, so a bad offer is
	// refused before anyone hears a ring; a delayed offer gets ours in
	// the 200 and its answer in the ACK (RFC 3261 §13.2.1).
	var local *sdp.Session
	var answer []byte
	if webrtc {
		if answer, err = c.startWebRTC(c.ic.Offer()); err != nil {
			return c.reject(err)
		}
	} else if offer := c.ic.Offer(); offer != nil {
		neg, err := answerOffer(offer, c.policy)
		if err != nil {
			return c.reject(err)
		}
		if !c.dtmfMode.Accepts(dtmf.SourceRFC4733, true) {
			neg.dropTelephoneEvent()
		}
		if err := c.startMedia(neg); err != nil {
			return c.reject(err)
		}
		c.startVideo(neg, false)
		local = neg.local
	} else if local, err = sdp.Offer(c.offerPolicy()); err != nil {
		return c.reject(err)
	} else if !c.dtmfMode.Accepts(dtmf.SourceRFC4733, true) {
		local.Audio.TelephoneEvent, local.Audio.TelephoneEvents = nil, nil
	}
	// A direct call joins while it is answered, not before (a backend
	// known to be down got its 503 in HandleCall); an IVR call joins once
	// the PIN is known.
	if !dest.ivr && !dest.waitHost {
		c.startJoin(dest.room.Name)
	}
	if err := c.ic.Ringing(); err != nil {
		return c.reject(err)
	}
	if answer == nil {
		answer = local.Marshal()
	}
	if err := c.ic.Answer(answer); err != nil {
		if errors.Is(err, sip.ErrRemoteHangup) {
			// A BYE right behind the ACK: answered, and already over.
			// Webhook receivers still see the answer before the end.
			c.answered.Store(time.Now().UnixNano())
			c.g.observe(c, CallAnswered)
			if dest.ivr {
				c.g.m.ivrOutcomes.WithLabelValues(ivr.OutcomeHungUp.String()).Inc()
			}
			return resultAnswered, err
		}
		return c.endedEarly(err)
	}
	if c.leg.Load() == nil {
		neg, err := acceptAnswer(local, c.ic.AckSDP())
		if err != nil {
			c.log.Info("delayed offer: unusable answer in the ACK", "err", err)
			return resultNotAccept, err
		}
		if err := c.startMedia(neg); err != nil {
			return resultFailed, err
		}
		c.startVideo(neg, true)
	}
	l := c.leg.Load()
	now := time.Now()
	c.answered.Store(now.UnixNano())
	c.g.observe(c, CallAnswered)
	c.g.m.answerDelay.Observe(now.Sub(c.start).Seconds())
	c.log.Info("call answered", "codec", l.Codec().String(), "srtp", c.negotiated().srtp != nil,
		"dtmf", c.dtmfMode.String(), "telephone_event", l.TelephoneEvent(), "inband_dtmf", l.InbandDTMF(),
		"from", c.ic.LogFrom(), "setup", now.Sub(c.start).Round(time.Millisecond))
	c.prompts = dest.prompts
	switch {
	case dest.ivr:
		return resultAnswered, c.serveIVR(dest)
	case dest.waitHost:
		if err := c.holdForHost(dest.room.Name); err != nil {
			return resultAnswered, err
		}
	}
	if err := c.awaitJoin(); err != nil {
		return resultAnswered, err
	}
	if err := c.enterHub(); err != nil {
		return resultAnswered, err
	}
	return resultAnswered, c.serve(nil)
}

// enterHub hands the leg to its room hub's clock, after stopping its own
// clock if the IVR ran one.
func (c *call) enterHub() error {
	l := c.leg.Load()
	l.StopClock()
	l.Publish(c.writer)
	if err := c.hub.Add(l); err != nil {
		return err
	}
	c.inHub = true
	return nil
}

// startMedia builds the leg and its RTP session from the negotiation.
func (c *call) startMedia(neg *negotiated) error {
	p := bridge.LegConfig{
		ID: c.id, Codec: neg.codec, RecvPT: neg.recvPT, SendPT: neg.sendPT,
		Digits: c.digits, PromptDone: c.promptDone,
	}
	peerTE := neg.te != nil
	if peerTE && c.dtmfMode.Accepts(dtmf.SourceRFC4733, true) {
		p.TEPT, p.TERate = neg.te.PT, int(neg.te.ClockRate)
	}
	p.InbandDTMF = c.dtmfMode.Inband(peerTE)
	l, err := bridge.NewLeg(p)
	if err != nil {
		return err
	}
	sess, err := rtp.NewSession(rtp.SessionConfig{
		Ports:       c.ports,
		PayloadType: neg.recvPT,
		ClockRate:   8000,
		Remote:      neg.remoteRTP,
		RemoteRTCP:  neg.remoteRTCP,
		RTCPMux:     neg.rtcpMux,
		SRTP:        neg.srtp,
		Timeout:     c.g.cfg.RTPTimeout,
		Codec:       neg.codec,
		Handler:     l,
		Logger:      c.log,
	})
	if err != nil {
		return err
	}
	l.Attach(sess)
	sess.OnSSRCChange(func(_, _ uint32) { l.ResetStream() })
	sess.OnTimeout(func() { c.cancel(rtp.ErrTimeout) })
	if neg.hold {
		l.SetHold(true)
		sess.SetTimeoutEnabled(false)
	}
	c.sess.Store(sess)
	c.mu.Lock()
	c.neg = neg
	c.mu.Unlock()
	c.leg.Store(l)
	return nil
}

// reinvite answers an offer in a re-INVITE or UPDATE (RFC 3264 §8): hold
// and resume, a new address, a session refresh. The codec stays the one
// negotiated first, so the leg never switches codecs mid-call.
func (c *call) reinvite(offer []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.neg == nil {
		return nil, fmt.Errorf("%w: media not set up yet", sip.ErrNotAcceptable)
	}
	if c.rtc != nil {
		return c.reinviteWebRTC(offer)
	}
	if offer == nil {
		return c.neg.local.Marshal(), nil
	}
	o, err := sdp.Parse(offer)
	if err != nil {
		return nil, sdpError(err)
	}
	p := c.policy
	p.Codecs = []sdp.Codec{c.neg.sdpCodec}
	p.Previous = c.neg.local
	c.reinviteVideoPolicy(o, &p)
	a, err := sdp.Answer(o, p)
	if err != nil {
		return nil, sdpError(err)
	}
	if c.neg.te == nil && a.Audio != nil {
		// Not used on this call (trunk mode, or not in the first offer).
		a.Audio.TelephoneEvent, a.Audio.TelephoneEvents = nil, nil
	}
	keys, err := srtpKeys(o.Audio, a.Audio, false)
	if err != nil {
		return nil, err
	}
	l, sess := c.leg.Load(), c.sess.Load()
	// The new outcome replaces c.neg whole: readers that took the old
	// pointer (negotiated) read it without the lock.
	next := *c.neg
	switch {
	case keys == nil && c.neg.srtp != nil:
		return nil, fmt.Errorf("%w: a re-INVITE may not turn SRTP off", sip.ErrNotAcceptable)
	case !sameSRTP(keys, c.neg.srtp):
		// RFC 4568 §7.1.4: new keys in a re-offer re-key the session.
		if err := sess.Rekey(keys); err != nil {
			return nil, fmt.Errorf("%w: re-key: %w", sip.ErrNotAcceptable, err)
		}
		next.srtp = keys
		c.log.Info("SRTP re-keyed by re-INVITE")
	}
	if err := c.reinviteVideo(o, a); err != nil {
		return nil, err
	}
	hold := o.OnHold(o.Audio)
	if hold != l.OnHold() {
		c.log.Info("hold changed", "hold", hold)
	}
	l.SetHold(hold)
	sess.SetTimeoutEnabled(!hold)
	if addr := o.RTPAddr(o.Audio); addr.IsValid() && !addr.Addr().IsUnspecified() {
		sess.SetRemote(addr, o.RTCPAddr(o.Audio))
	}
	next.local, next.remote, next.hold = a, o, hold
	c.neg = &next
	return a.Marshal(), nil
}

func (c *call) negotiated() *negotiated {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.neg
}

// reject refuses the call with the status code the SIP layer maps err to.
func (c *call) reject(err error) (string, error) {
	if cause := context.Cause(c.ctx); cause != nil {
		return c.endedEarly(cause)
	}
	if rerr := c.ic.RejectErr(err); rerr != nil {
		c.log.Debug("reject", "err", rerr)
	}
	c.log.Info("call rejected", "status", sip.StatusCode(err), "err", err)
	switch {
	case errors.Is(err, sip.ErrNoSuchRoom):
		return resultNotFound, err
	case errors.Is(err, sip.ErrForbidden):
		return resultForbidden, err
	case errors.Is(err, sip.ErrNoCommonCodec), errors.Is(err, sip.ErrSRTPRequired), errors.Is(err, sip.ErrNotAcceptable):
		return resultNotAccept, err
	case errors.Is(err, sip.ErrOverloaded):
		return resultUnavailable, err
	}
	return resultFailed, err
}

// endedEarly classifies a call that ended before it was answered.
func (c *call) endedEarly(err error) (string, error) {
	if errors.Is(err, sip.ErrCanceled) || errors.Is(context.Cause(c.ctx), sip.ErrCanceled) {
		return resultCanceled, err
	}
	return resultFailed, err
}

// teardown releases what the call holds, the hub first so that the clock
// stops using the leg before its writer and session close.
func (c *call) teardown() error {
	var errs []error
	c.waitJoin()
	if l := c.leg.Load(); l != nil {
		l.StopClock()
	}
	if c.host {
		c.g.hostLeft(c.roomName)
	}
	if c.hub != nil {
		var l *bridge.Leg
		if c.inHub {
			l = c.leg.Load()
		}
		c.g.leaveHub(c.hub, c.id, l)
	}
	if c.writer != nil {
		errs = append(errs, c.writer.Close())
	}
	errs = append(errs, c.videoTeardown())
	if c.part != nil {
		errs = append(errs, c.part.Leave("hangup"))
		if c.room.Load() != nil {
			c.g.observe(c, ParticipantLeft)
		}
	}
	if s := c.sess.Load(); s != nil {
		errs = append(errs, s.Close())
	}
	if c.rtc != nil {
		errs = append(errs, c.closeWebRTC())
	}
	if c.ports != nil {
		errs = append(errs, c.ports.Close())
	}
	return errors.Join(errs...)
}

// rtpTotals is the leg's packet counters so far.
func (c *call) rtpTotals() rtpTotals {
	s := c.sess.Load()
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

// finalMOS is the leg's MOS estimate, 0 for calls that carried no media.
func (c *call) finalMOS() float64 {
	s := c.sess.Load()
	if s == nil || c.answered.Load() == 0 || s.Stats().PacketsReceived == 0 {
		return 0
	}
	return s.MOS()
}
