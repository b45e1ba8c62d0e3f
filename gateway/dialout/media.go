package dialout

import (
	"context"
	"net/netip"

	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip/outbound"
)

// Media is the callee's side of the bridge between a dial-out call and its
// room. The registry calls Offer before the INVITE, EarlyMedia for each
// 18x with SDP, Answered once the call is answered, and Close exactly once
// at the end (answered or not), from the call's goroutine.
type Media interface {
	// Offer is the SDP offer of the INVITE.
	Offer() []byte
	// EarlyMedia starts (or updates) receiving early media: ringback or
	// announcements the callee's network plays before the answer.
	EarlyMedia(sdp []byte) error
	// Answered completes the media with the callee's answer
	// (call.Answer()) and puts the callee into the room as the
	// participant info describes; the call is hung up with cause
	// media_failed when it returns an error.
	Answered(call *outbound.Call, info Info) error
	// Close releases what the media holds: ports, sessions, the room
	// participant.
	Close() error
}

// Optional interfaces of a Media, for the callee's requests inside the
// dialog.
type (
	// ReOfferer answers an offer in the callee's re-INVITE or UPDATE.
	ReOfferer interface {
		ReOffer(offer []byte) (answer []byte, err error)
	}
	// InfoReceiver sees the callee's INFO requests (DTMF relay,
	// picture_fast_update).
	InfoReceiver interface {
		Info(contentType string, body []byte)
	}
	// DTMFSender sends the digits of a dial request after the answer
	// (RFC 4733 on the media); without it, or when it returns
	// ErrNoRFC4733, they go as SIP INFO application/dtmf-relay.
	DTMFSender interface {
		SendDTMF(ctx context.Context, digits string) error
	}
	// AttemptOfferer makes the offer of each INVITE of a dial, once its
	// trunk and server are known: SDES keys may then go only where the
	// signalling is TLS. The last offer made is the one answered.
	AttemptOfferer interface {
		OfferFor(a outbound.Attempt) ([]byte, error)
	}
	// Ender is a Media that can end an answered call itself: its
	// participant was removed from the room, its RTP stopped, the
	// gateway closed. Done is closed then, and Cause names why (one of
	// the Cause constants).
	Ender interface {
		Done() <-chan struct{}
		Cause() string
	}
	// ProgressReceiver sees every provisional response (100, 180, 183),
	// before EarlyMedia for one with SDP, on the SIP stack's goroutine:
	// it must not block.
	ProgressReceiver interface {
		Progress(p outbound.Progress)
	}
	// QualityReporter reports the answered call's media quality, shown
	// in Info.Quality.
	QualityReporter interface {
		Quality() (any, bool)
	}
)

// MediaFactory makes the Media of one call before it is dialled. info
// has the call's id, room, participant identity and attributes.
type MediaFactory func(ctx context.Context, info Info) (Media, error)

// SignallingOnly is a MediaFactory for tests of the signalling: it offers PCMU, PCMA and telephone-event on a port pair
// reserved from pool (advertised at addr, or the pool's address), so the
// offer names a port that is really ours, and carries no audio.
func SignallingOnly(pool *rtp.PortPool, addr netip.Addr) MediaFactory {
	return func(context.Context, Info) (Media, error) {
		ports, err := pool.Allocate()
		if err != nil {
			return nil, err
		}
		a := addr
		if !a.IsValid() || a.IsUnspecified() {
			a = ports.RTPAddr().Addr()
		}
		o, err := sdp.Offer(sdp.Policy{Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA}, Addr: a, AudioPort: int(ports.RTPAddr().Port())})
		if err != nil {
			_ = ports.Close()
			return nil, err
		}
		return &signallingOnly{ports: ports, offer: o.Marshal()}, nil
	}
}

type signallingOnly struct {
	ports *rtp.PortPair
	offer []byte
}

func (s *signallingOnly) Offer() []byte                       { return s.offer }
func (s *signallingOnly) EarlyMedia([]byte) error             { return nil }
func (s *signallingOnly) Answered(*outbound.Call, Info) error { return nil }
func (s *signallingOnly) Close() error                        { return s.ports.Close() }
