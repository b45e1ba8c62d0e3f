package sipws

import "errors"

// Reasons a socket is refused before the upgrade or closed after it. They
// are the keys of [Stats.Refused] and appear in debug logs.
var (
	// ErrOrigin: the page's Origin is not allowed (HTTP 403 before the
	// upgrade, RFC 6455 §10.2).
	ErrOrigin = errors.New("sipws: origin not allowed")
	// ErrSubprotocol: the client did not offer the "sip" subprotocol
	// (HTTP 400 before the upgrade, RFC 7118 §4).
	ErrSubprotocol = errors.New("sipws: sip subprotocol required")
	// ErrTooManyConns: the source address already holds MaxPerIP sockets
	// (HTTP 429 before the upgrade).
	ErrTooManyConns = errors.New("sipws: too many sockets from this address")
	// ErrNotUpgrade: a plain HTTP request, not a WebSocket handshake (426).
	ErrNotUpgrade = errors.New("sipws: not a WebSocket handshake")
	// ErrNotSIP: a message that is neither a SIP request, a SIP response
	// nor a CRLF keep-alive; the socket is closed with code 1002.
	ErrNotSIP = errors.New("sipws: not a SIP message")
	// ErrSilent: no message and no pong for the silence timeout.
	ErrSilent = errors.New("sipws: socket silent")
	// ErrClosed: the listener is closed.
	ErrClosed = errors.New("sipws: listener closed")
	// ErrInvalidConfig: a Config field is out of range.
	ErrInvalidConfig = errors.New("sipws: invalid config")
	// ErrOffer: a WebRTC offer the leg cannot answer (no audio, no DTLS
	// fingerprint or ICE credentials, or pion refused it); the offer's
	// fault, answered with 488.
	ErrOffer = errors.New("sipws: unusable WebRTC offer")
	// ErrNoOpus: a WebRTC offer without opus/48000/2 (488).
	ErrNoOpus = errors.New("sipws: no common codec")
	// ErrMediaFailed: a WebRTC leg's ICE or DTLS connection failed.
	ErrMediaFailed = errors.New("sipws: WebRTC media failed")
	// errBadFrame: the SIP stack wrote bytes that are not the WebSocket
	// framing this package expects of it; a programming error, seen in
	// tests only.
	errBadFrame = errors.New("sipws: unexpected framing from the SIP stack")
)
