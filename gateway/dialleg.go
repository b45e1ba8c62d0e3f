package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip/outbound"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// DialTrunk is the media policy of one outbound trunk.
type DialTrunk struct {
	// SRTP is the trunk's policy (trunks[].srtp): with SRTPRequire the
	// offer is RTP/SAVP with SDES keys, sent only where the INVITE goes
	// over TLS, or anywhere with SRTPOverPlain (a lab). Allow and disable
	// offer plain RTP/AVP.
	SRTP          sdp.SRTPMode
	SRTPOverPlain bool
	// DTMF is the trunk's DTMF mode (trunks[].dtmf): ModeINFO sends a
	// dial's digits as SIP INFO; otherwise they go as RFC 4733 events
	// when the callee answered telephone-event, else as INFO.
	DTMF dtmf.Mode
}

// DialMedia is the dialout.MediaFactory of the room API's dial-outs: each
// answered call joins its room as an ordinary SIP participant, its audio
// through the room's hub, with the same leg media as calls that come in
// (legMedia). trunks gives the outbound trunks' media policies by name; a
// SIP URI dialled directly gets plain RTP.
func (g *Gateway) DialMedia(trunks map[string]DialTrunk) dialout.MediaFactory {
	trunks = maps.Clone(trunks)
	return func(_ context.Context, info dialout.Info) (dialout.Media, error) {
		return g.newOutLeg(info, trunks)
	}
}

// newOutLeg makes the media of one dial-out: counted in like any leg,
// with its RTP ports and a first offer.
func (g *Gateway) newOutLeg(info dialout.Info, trunks map[string]DialTrunk) (*outLeg, error) {
	o := &outLeg{
		legMedia: legMedia{g: g, id: info.Participant, log: g.log.With("dial", info.ID, "room", info.Room, "participant", info.Participant)},
		trunks:   trunks,
	}
	o.ctx, o.cancel = context.WithCancelCause(context.Background())
	if err := g.admitOut(o); err != nil {
		o.cancel(err)
		return nil, err
	}
	ports, err := g.cfg.PortPool.Allocate()
	if err != nil {
		g.releaseOut(o)
		return nil, fmt.Errorf("%w: %w", ErrNoPorts, err)
	}
	o.ports = ports
	if _, err := o.OfferFor(outbound.Attempt{}); err != nil {
		_ = o.Close()
		return nil, err
	}
	return o, nil
}

// outLeg is the media of one dial-out: our offers, the answer, and from
// then on a SIP participant in the room. The dial-out registry drives it
// (dialout.Media) from the call's goroutine; the callee's re-INVITEs
// arrive on the SIP stack's.
type outLeg struct {
	legMedia
	trunks map[string]DialTrunk

	// Set by OfferFor (under legMedia.mu), read by Answered.
	offer     *sdp.Session
	trunk     DialTrunk
	transport string
	early     []byte // the SDP of the last 18x

	// left reports the participant's leaving, once it joined.
	left func()

	wg      sync.WaitGroup // serve
	closeMu sync.Mutex
	closed  bool
}

var (
	_ dialout.Media           = (*outLeg)(nil)
	_ dialout.AttemptOfferer  = (*outLeg)(nil)
	_ dialout.ReOfferer       = (*outLeg)(nil)
	_ dialout.DTMFSender      = (*outLeg)(nil)
	_ dialout.Ender           = (*outLeg)(nil)
	_ dialout.QualityReporter = (*outLeg)(nil)
)

// ErrSDESOverPlain refuses an SRTP offer over signalling that is not TLS.
var ErrSDESOverPlain = errors.New("gateway: the trunk requires SRTP, whose SDES keys travel only over SIP/TLS")

// Offer is the offer made before any attempt (plain RTP): what
// OfferFor made last.
func (o *outLeg) Offer() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.offer.Marshal()
}

// OfferFor makes the offer of one INVITE: G.711 and G.722 with
// telephone-event, SRTP when the trunk requires it and the INVITE goes
// over TLS (or the trunk allows SDES over plain signalling).
func (o *outLeg) OfferFor(a outbound.Attempt) ([]byte, error) {
	t := o.trunks[a.Trunk]
	tls := a.Target.Transport == uac.TransportTLS
	mode := sdp.SRTPDisable
	if t.SRTP == sdp.SRTPRequire {
		if !tls && !t.SRTPOverPlain {
			return nil, fmt.Errorf("%w: trunk %s, %s", ErrSDESOverPlain, a.Trunk, a.Target)
		}
		mode = sdp.SRTPRequire
	}
	p := sdp.Policy{
		Codecs:    legCodecs,
		SRTP:      mode,
		Addr:      o.g.mediaAddr(o.ports, a.Target.Addr),
		AudioPort: int(o.ports.RTPAddr().Port()),
		RTCPMux:   true,
		Ptime:     sdp.DefaultPtime,
		Username:  "roombridge",
	}
	offer, err := sdp.Offer(p)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.policy, o.offer, o.trunk, o.transport, o.early = p, offer, t, a.Target.Transport.String(), nil
	o.mu.Unlock()
	return offer.Marshal(), nil
}

// EarlyMedia keeps the SDP of a 183: a callee that does not repeat its
// answer in the 200 OK is answered by it. Early media is not played into
// the room: the room hears the callee once it has answered.
func (o *outLeg) EarlyMedia(b []byte) error {
	o.mu.Lock()
	o.early = b
	o.mu.Unlock()
	return nil
}

// Answered completes the media with the callee's answer and puts the
// callee into the room.
func (o *outLeg) Answered(call *outbound.Call, info dialout.Info) error {
	o.mu.Lock()
	offer, answer, t := o.offer, call.Answer(), o.trunk
	if len(answer) == 0 {
		answer = o.early
	}
	o.mu.Unlock()
	neg, err := o.startAnswer(offer, answer, t)
	if err != nil {
		return err
	}
	o.answered.Store(time.Now().UnixNano())
	attrs := maps.Clone(info.Attributes)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["sip.direction"] = "outbound"
	attrs["sip.transport"] = o.transport
	if call.Trunk != "" {
		attrs["sip.trunk"] = call.Trunk
	}
	if o.g.cfg.NodeID != "" {
		attrs[room.AttrNode] = o.g.cfg.NodeID
	}
	p := room.ParticipantInfo{
		Identity: o.id, Name: dialName(info), Kind: room.ParticipantKindSIP, Attributes: attrs,
		PublishOnly: true,
	}
	if err := o.joinParticipant(info.Room, p); err != nil {
		return err
	}
	o.room.Store(&info.Room)
	o.g.observeOut(ParticipantJoined, info, p)
	o.left = func() { o.g.observeOut(ParticipantLeft, info, p) }
	if err := o.enterHub(); err != nil {
		return err
	}
	l := o.leg.Load()
	o.log.Info("dial-out media", "codec", l.Codec().String(), "srtp", neg.srtp != nil, "transport", o.transport,
		"telephone_event", l.SendsDigits())
	o.wg.Add(1)
	go o.serve()
	return nil
}

// startAnswer completes the leg's media with the callee's answer to our
// offer: the codec, how digits go to the callee (the trunk's dtmf mode,
// RFC 4733 only when the answer has a telephone-event at the codec's
// clock) and the RTP session. Dial-out and the click-to-call callee
// share it, so both legs agree on what an answer means.
func (o *outLeg) startAnswer(offer *sdp.Session, answer []byte, t DialTrunk) (*negotiated, error) {
	neg, err := acceptAnswer(offer, answer)
	if err != nil {
		return nil, err
	}
	o.dtmfMode = t.DTMF
	if neg.remote.Audio != nil && t.DTMF != dtmf.ModeINFO {
		o.sendTE = peerEvent(neg.remote.Audio, neg.codec.ClockRate())
	}
	if err := o.startMedia(neg, nil); err != nil {
		return nil, err
	}
	return neg, nil
}

// peerEvent is the peer's telephone-event at the codec's RTP clock, nil
// if it has none.
func peerEvent(m *sdp.Media, clock uint32) *sdp.Codec {
	for _, te := range m.TelephoneEvents {
		if te.ClockRate == clock {
			return &te
		}
	}
	if te := m.TelephoneEvent; te != nil && te.ClockRate == clock {
		c := *te
		return &c
	}
	return nil
}

// dialName is the callee's name in the room: the dial's name, else the
// number or URI dialled.
func dialName(info dialout.Info) string {
	if info.Name != "" {
		return CleanDisplayName(info.Name)
	}
	to := strings.TrimPrefix(strings.TrimPrefix(info.To, "sips:"), "sip:")
	return CleanDisplayName(to)
}

// serve follows the callee's participant: removed from the room (a kick)
// ends the call, a mute from the API silences it.
func (o *outLeg) serve() {
	defer o.wg.Done()
	events := o.part.Events()
	for {
		select {
		case <-o.ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				o.cancel(ErrRemoved)
				return
			}
			switch {
			case ev.Type == room.EventRemoved:
				o.log.Info("dial-out removed from the room", "reason", ev.Reason)
				o.cancel(fmt.Errorf("%w: %s", ErrRemoved, ev.Reason))
				return
			case ev.Type == room.EventMuted && ev.Kind == room.TrackKindAudio:
				o.leg.Load().SetMuted(ev.Muted)
				o.log.Info("muted by the room", "muted", ev.Muted)
			}
		}
	}
}

// ReOffer answers the callee's re-INVITE or UPDATE as a call's: hold,
// a new address, new SDES keys (RFC 4568 §7.1.4), never SRTP off.
func (o *outLeg) ReOffer(offer []byte) ([]byte, error) { return o.reinvite(offer) }

// SendDTMF sends digits as RFC 4733 events on the media, a ',' pausing
// 500 ms; dialout.ErrNoRFC4733 when the callee has no telephone-event.
func (o *outLeg) SendDTMF(ctx context.Context, digits string) error {
	l := o.leg.Load()
	if l == nil || !l.SendsDigits() {
		return dialout.ErrNoRFC4733
	}
	for _, d := range strings.ToUpper(digits) {
		if d == ',' {
			t := time.NewTimer(500 * time.Millisecond)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-o.ctx.Done():
				t.Stop()
				return context.Cause(o.ctx)
			}
		}
		if err := l.SendDigit(byte(d)); err != nil {
			return err
		}
		select {
		case <-l.DigitSent():
		case <-ctx.Done():
			return ctx.Err()
		case <-o.ctx.Done():
			return context.Cause(o.ctx)
		}
	}
	o.log.Info("dial-out DTMF sent", "digits", len(digits))
	return nil
}

// Done is closed when the leg ends the call itself.
func (o *outLeg) Done() <-chan struct{} { return o.ctx.Done() }

// Cause says why the leg ended the call.
func (o *outLeg) Cause() string {
	err := context.Cause(o.ctx)
	switch {
	case errors.Is(err, ErrRemoved):
		return dialout.CauseKicked
	case errors.Is(err, rtp.ErrTimeout):
		return dialout.CauseRTPTimeout
	case errors.Is(err, ErrGatewayClosed):
		return dialout.CauseShutdown
	}
	return dialout.CauseFailed
}

// Quality is the leg's media quality once it carries media.
func (o *outLeg) Quality() (any, bool) {
	l, s := o.leg.Load(), o.sess.Load()
	if l == nil || s == nil {
		return nil, false
	}
	return o.legQuality(l, s, o.transport), true
}

// Close takes the callee out of the room and frees the leg; the registry
// calls it once, after the hang-up.
func (o *outLeg) Close() error {
	o.closeMu.Lock()
	defer o.closeMu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	o.cancel(errLegClosed)
	o.wg.Wait()
	err := o.release(o.left)
	o.g.m.observeEnd(o.finalMOS())
	o.g.releaseOut(o)
	return err
}

var errLegClosed = errors.New("gateway: dial-out leg closed")
