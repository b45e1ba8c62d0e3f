package rtp

import "errors"

var (
	// ErrNoPorts means every port pair of a PortPool is allocated or bound
	// by another process.
	ErrNoPorts = errors.New("rtp: no free port pair")
	// ErrInvalidRange means a PortPool range holds no even/odd pair.
	ErrInvalidRange = errors.New("rtp: invalid port range")
	// ErrInvalidConfig means a SessionConfig is missing a required field or
	// holds an impossible value; the wrapping error names the field.
	ErrInvalidConfig = errors.New("rtp: invalid session config")
	// ErrUnsupportedProfile means an SRTP protection profile this package
	// does not offer for SDES.
	ErrUnsupportedProfile = errors.New("rtp: unsupported SRTP profile")
	// ErrInvalidKey means an SRTP master key or salt of the wrong length.
	ErrInvalidKey = errors.New("rtp: invalid SRTP key length")
	// ErrClosed is returned by operations on a closed Session, and is the
	// cause recorded by Close.
	ErrClosed = errors.New("rtp: session closed")
	// ErrNoRemote means the remote address is not known yet (a delayed
	// offer before the peer's SDP or first packet); the packet was not sent.
	ErrNoRemote = errors.New("rtp: remote address unknown")
	// ErrPacketTooLarge means an outgoing packet does not fit the send
	// buffer once SRTP overhead is added.
	ErrPacketTooLarge = errors.New("rtp: packet too large")
	// ErrTimeout is the cause reported when no media arrived for the
	// configured inactivity timeout.
	ErrTimeout = errors.New("rtp: media inactivity timeout")
)
