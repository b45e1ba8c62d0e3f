package sdp

import "errors"

// Sentinel errors. Functions wrap them with %w and add detail, so callers test
// with errors.Is. The SIP layer maps them to status codes (typically 488 Not
// Acceptable Here for everything an answer cannot be produced for, RFC 3261
// §21.4.26); this package never chooses a status code.
var (
	// ErrMalformed reports SDP text that cannot be understood: bad syntax,
	// bad numbers, a missing or unusable connection address, and so on.
	ErrMalformed = errors.New("sdp: malformed")
	// ErrNoAudio reports an offer or answer without a usable audio stream.
	// Every SIP leg of the gateway carries audio.
	ErrNoAudio = errors.New("sdp: no audio stream")
	// ErrNoCommonCodec reports that none of our audio codecs is in the offer
	// (or that an answer picked none of ours).
	ErrNoCommonCodec = errors.New("sdp: no common codec")
	// ErrSRTPRequired reports a plain RTP offer or answer while the policy
	// requires SRTP.
	ErrSRTPRequired = errors.New("sdp: SRTP required")
	// ErrSRTPNotAllowed reports an RTP/SAVP offer while the policy disables
	// SRTP.
	ErrSRTPNotAllowed = errors.New("sdp: SRTP not allowed")
	// ErrNoCommonCrypto reports an RTP/SAVP offer none of whose a=crypto
	// lines we support (RFC 4568 §7.1.2: the stream is then rejected).
	ErrNoCommonCrypto = errors.New("sdp: no common crypto suite")
	// ErrUnsupportedTransport reports a transport we cannot terminate on a
	// SIP leg, such as DTLS-SRTP (UDP/TLS/RTP/SAVP) or RTP over TCP.
	ErrUnsupportedTransport = errors.New("sdp: unsupported transport")
	// ErrBadCrypto reports an a=crypto attribute that cannot be parsed or
	// whose key does not fit its suite (RFC 4568 §9.1).
	ErrBadCrypto = errors.New("sdp: bad crypto attribute")
	// ErrAnswerMismatch reports an answer that does not fit our offer
	// (RFC 3264 §6): a different number of m= lines, codecs or a crypto tag
	// we did not offer, or a direction the offer does not allow.
	ErrAnswerMismatch = errors.New("sdp: answer does not match offer")
	// ErrInvalidPolicy reports a Policy that cannot produce SDP, such as
	// one without a local address or port: a configuration or programming
	// error, not the peer's fault (so a 500, not a 488).
	ErrInvalidPolicy = errors.New("sdp: invalid policy")
)
