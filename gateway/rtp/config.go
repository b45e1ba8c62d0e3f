package rtp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/roombridge/roombridge/gateway/media/codec"
)

// Packet is an RTP packet as github.com/pion/rtp parses it, so callers of
// Handler need not import both packages named rtp.
type Packet = pionrtp.Packet

// Defaults for SessionConfig fields left zero.
const (
	// DefaultTimeout is the RTP inactivity timeout. Trunks that stop
	// sending without a BYE leave zombie calls; 30 s rides out the usual
	// comfort-noise gaps while still ending them.
	DefaultTimeout = 30 * time.Second
	// DefaultRTCPInterval is the mean interval between our RTCP reports.
	// RFC 3550 §6.2 gives 5 s as the minimum for a small session.
	DefaultRTCPInterval = 5 * time.Second
	// DefaultJitterBufferDelay is the playout delay the MOS estimate
	// assumes when the caller does not say what its jitter buffer holds.
	DefaultJitterBufferDelay = 60 * time.Millisecond
)

// NoTimeout as SessionConfig.Timeout turns the inactivity timeout off.
const NoTimeout time.Duration = -1

// Handler receives the RTP packets of a session.
//
// HandleRTP is called on the session's reader goroutine, one packet at a
// time. The packet, its header slices and its payload are reused for the
// next packet: they are valid only during the call, so copy what must be
// kept (a jitter buffer copies the payload). HandleRTP must not block for
// long and must not call Session.Close (Close waits for the reader).
type Handler interface {
	HandleRTP(pkt *Packet)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(pkt *Packet)

// HandleRTP calls f(pkt).
func (f HandlerFunc) HandleRTP(pkt *Packet) { f(pkt) }

// SessionConfig is what a Session needs. It is copied by NewSession and not
// read again.
type SessionConfig struct {
	// Ports are the leg's sockets, normally from PortPool.Allocate. The
	// session owns them from now on and closes them on Close.
	Ports *PortPair

	// SSRC is our synchronisation source; zero picks a random one, as
	// RFC 3550 §8.1 asks.
	SSRC uint32
	// PayloadType is the negotiated media payload type. Jitter is measured
	// on packets of this type only: RFC 4733 events repeat one timestamp
	// over many packets and would read as jitter.
	PayloadType uint8
	// ClockRate is the RTP clock of PayloadType in Hz (8000 for G.711 and,
	// per RFC 3551 §4.5.2, for G.722).
	ClockRate uint32

	// Remote is the peer's RTP address from SDP. It may be zero with a
	// delayed offer; the session then sends nothing until SetRemote or the
	// peer's first packet tells it where to.
	Remote netip.AddrPort
	// RemoteRTCP is the peer's RTCP address (RFC 3605 a=rtcp). Zero means
	// the port above Remote, or Remote itself with RTCPMux.
	RemoteRTCP netip.AddrPort
	// RTCPMux sends and receives RTCP on the RTP port (RFC 5761).
	RTCPMux bool

	// SRTP enables SDES-keyed SRTP and SRTCP; nil means plain RTP.
	SRTP *SRTPKeys

	// DisableLatching keeps sending to the SDP address even when the peer
	// sends from elsewhere. Latching (symmetric RTP) is on by default
	// because most phones behind NAT advertise an address nobody can reach.
	DisableLatching bool

	// Timeout is how long without any RTP or RTCP from the peer before
	// OnTimeout is called. Zero means DefaultTimeout; NoTimeout (or any
	// negative value) turns it off.
	Timeout time.Duration
	// RTCPInterval is the mean interval between RTCP reports, zero meaning
	// DefaultRTCPInterval. Each interval is randomised to 0.5–1.5 times
	// this (RFC 3550 §6.3.1).
	RTCPInterval time.Duration
	// CNAME is our RTCP canonical name; empty picks a random one per
	// session, as RFC 7022 recommends.
	CNAME string

	// Codec selects the E-model parameters of MOS; codec.Unknown derives
	// it from a static PayloadType (0 and 8: G.711, 9: G.722).
	Codec codec.ID
	// JitterBufferDelay is the playout delay of the caller's jitter buffer,
	// for the MOS estimate; zero means DefaultJitterBufferDelay.
	JitterBufferDelay time.Duration

	// Handler receives RTP packets; nil drops them (a sendonly leg).
	Handler Handler

	// Logger gets the session's logs; nil discards them.
	Logger *slog.Logger
}

func (c *SessionConfig) validate() error {
	switch {
	case c.Ports == nil || c.Ports.RTP == nil:
		return fmt.Errorf("%w: Ports with an RTP socket is required", ErrInvalidConfig)
	case !c.RTCPMux && c.Ports.RTCP == nil:
		return fmt.Errorf("%w: Ports.RTCP is required without RTCPMux", ErrInvalidConfig)
	case c.ClockRate == 0:
		return fmt.Errorf("%w: ClockRate is required", ErrInvalidConfig)
	case c.PayloadType > 127:
		return fmt.Errorf("%w: PayloadType %d is not 7 bits", ErrInvalidConfig, c.PayloadType)
	}
	return nil
}

func (c *SessionConfig) applyDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.RTCPInterval <= 0 {
		c.RTCPInterval = DefaultRTCPInterval
	}
	if c.JitterBufferDelay <= 0 {
		c.JitterBufferDelay = DefaultJitterBufferDelay
	}
	if c.Codec == codec.Unknown {
		c.Codec = codecForPayloadType(c.PayloadType)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Remote.IsValid() {
		c.Remote = normalize(c.Remote)
	}
	if c.RemoteRTCP.IsValid() {
		c.RemoteRTCP = normalize(c.RemoteRTCP)
	}
}
