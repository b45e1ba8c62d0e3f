package gateway

import (
	"context"
	"errors"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/roombridge/roombridge/gateway/bridge"
	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/sdp"
)

// WebRTCMedia answers the WebRTC offers of SIP legs (browser SIP stacks
// over SIP-over-WebSocket: ICE, DTLS-SRTP, rtcp-mux, BUNDLE, Opus) with a
// PeerConnection per leg. The sipws package implements it with pion; cmd
// wires it in (Config.WebRTC).
type WebRTCMedia interface {
	// AnswerWebRTC makes the leg's media for offer and returns it with our
	// answer. handler gets the browser's audio packets; failed is called
	// once if the connection fails for good. Errors that are the offer's
	// fault wrap sip.ErrNotAcceptable or sip.ErrNoCommonCodec.
	AnswerWebRTC(ctx context.Context, offer []byte, handler func(*pionrtp.Packet), failed func(error)) (WebRTCLeg, []byte, error)
}

// WebRTCLeg is the media transport of one browser SIP leg. It is the leg's
// bridge.Sender: the clock writes the room's N−1 mix, Opus-encoded, to it.
type WebRTCLeg interface {
	bridge.Sender
	// Audio is what offer/answer settled.
	Audio() WebRTCAudio
	// Reoffer answers an offer in a re-INVITE (nil: a refresh without
	// SDP) and reports whether it puts us on hold.
	Reoffer(ctx context.Context, offer []byte) (answer []byte, hold bool, err error)
	// FirstPacket is when the browser's first audio packet arrived, zero
	// before.
	FirstPacket() time.Time
	// Close ends the connection and waits for the leg's goroutines.
	Close() error
}

// WebRTCAudio is the negotiated audio of a WebRTC leg: the Opus payload
// type (the same both ways) and the telephone-event the browser may send
// (EventRate 0: none).
type WebRTCAudio struct {
	PT        uint8
	EventPT   uint8
	EventRate int
	Hold      bool
}

// webrtcGatherTimeout bounds ICE candidate gathering for an answer: host
// candidates take milliseconds; a configured STUN server may take longer.
const webrtcGatherTimeout = 5 * time.Second

// isWebRTCOffer reports whether offer asks for WebRTC media (DTLS-SRTP) on
// its audio, which only a WebRTC leg answers.
func (g *Gateway) isWebRTCOffer(offer []byte) bool {
	if g.cfg.WebRTC == nil || offer == nil {
		return false
	}
	s, err := sdp.Parse(offer)
	return err == nil && s.Audio != nil && s.Audio.DTLS()
}

// startWebRTC answers a WebRTC offer: the PeerConnection and an Opus leg
// of the bridge (Opus from the browser to the room untouched, decoded once
// for the phones' mix; the leg's mix encoded to Opus for the browser).
func (c *call) startWebRTC(offer []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(c.ctx, webrtcGatherTimeout)
	defer cancel()
	// Packets may arrive before the leg exists; they are dropped until it
	// does.
	handler := func(p *pionrtp.Packet) {
		if l := c.leg.Load(); l != nil {
			l.HandleRTP(p)
		}
	}
	w, answer, err := c.g.cfg.WebRTC.AnswerWebRTC(ctx, offer, handler, c.cancel)
	if err != nil {
		return nil, err
	}
	a := w.Audio()
	neg := &negotiated{codec: codec.Opus, sdpCodec: sdp.Opus, recvPT: a.PT, sendPT: a.PT, hold: a.Hold}
	neg.sdpCodec.PT = a.PT
	if a.EventRate != 0 && c.dtmfMode.Accepts(dtmf.SourceRFC4733, true) {
		neg.te = &sdp.Codec{PT: a.EventPT, Name: "telephone-event", ClockRate: uint32(a.EventRate)}
	}
	p := bridge.LegConfig{
		ID: c.id, Codec: codec.Opus, RecvPT: a.PT, SendPT: a.PT,
		Digits: c.digits, PromptDone: c.promptDone, Opus: offerOpusParams(offer),
	}
	if neg.te != nil {
		p.TEPT, p.TERate = neg.te.PT, a.EventRate
	}
	p.InbandDTMF = c.dtmfMode.Inband(neg.te != nil)
	l, err := bridge.NewLeg(p)
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	l.Attach(w)
	l.SetHold(a.Hold)
	c.mu.Lock()
	c.rtc, c.neg = w, neg
	c.mu.Unlock()
	c.leg.Store(l)
	return answer, nil
}

// reinviteWebRTC answers a re-INVITE of a WebRTC leg; m.mu is held.
func (m *legMedia) reinviteWebRTC(offer []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(m.ctx, webrtcGatherTimeout)
	defer cancel()
	answer, hold, err := m.rtc.Reoffer(ctx, offer)
	if err != nil {
		return nil, err
	}
	l := m.leg.Load()
	if hold != l.OnHold() {
		m.log.Info("hold changed", "hold", hold)
	}
	l.SetHold(hold)
	next := *m.neg
	next.hold = hold
	m.neg = &next
	return answer, nil
}

// logWebRTCMedia logs, for a WebRTC leg about to close, how long the
// browser's first audio packet took to arrive after the INVITE.
func (c *call) logWebRTCMedia() {
	if c.rtc == nil {
		return
	}
	if at := c.rtc.FirstPacket(); !at.IsZero() {
		c.log.Info("WebRTC leg: first audio from the browser", "after_invite", at.Sub(c.start).Round(time.Millisecond))
	}
}
