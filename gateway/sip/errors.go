package sip

import (
	"errors"
	"fmt"
)

// Errors a [CallHandler] returns (wrapped with %w) through
// [IncomingCall.RejectErr]; [StatusCode] maps each to a SIP final response.
var (
	// ErrNoSuchRoom: the called URI or number leads to no room (404).
	ErrNoSuchRoom = errors.New("sip: no such room")
	// ErrNoCommonCodec: the offer has no codec we can use (488, RFC 3261 §21.4.26).
	ErrNoCommonCodec = errors.New("sip: no common codec")
	// ErrSRTPRequired: the trunk requires SRTP and the offer is plain RTP (488).
	ErrSRTPRequired = errors.New("sip: SRTP required")
	// ErrNotAcceptable: any other offer we cannot answer (488).
	ErrNotAcceptable = errors.New("sip: offer not acceptable")
	// ErrUnsupportedTransport: the offer's media transport is one a SIP leg
	// cannot terminate, such as DTLS-SRTP (UDP/TLS/RTP/SAVPF) from a
	// WebRTC client (488, Warning 302).
	ErrUnsupportedTransport = errors.New("sip: unsupported media transport")
	// ErrOverloaded: no capacity for another call right now (503).
	ErrOverloaded = errors.New("sip: overloaded")
	// ErrForbidden: the caller may not make this call (403).
	ErrForbidden = errors.New("sip: forbidden")
	// ErrBusy: the room or leg cannot take the call, e.g. a full room (486).
	ErrBusy = errors.New("sip: busy")
	// ErrNotAnswered: the handler ended without answering (480).
	ErrNotAnswered = errors.New("sip: call not answered")
	// ErrMoved: the call belongs elsewhere (302 Moved Temporarily, RFC
	// 3261 §21.3.3); return a *[MovedError], which names where.
	ErrMoved = errors.New("sip: moved")
)

// MovedError redirects a call to Contact, a SIP URI (302 with that
// Contact).
type MovedError struct {
	Contact string
}

func (e *MovedError) Error() string { return "sip: moved to " + e.Contact }
func (e *MovedError) Unwrap() error { return ErrMoved }

// Causes of a call's context cancellation (context.Cause), also returned by
// [IncomingCall] methods once the call has ended.
var (
	// ErrCanceled: the caller sent CANCEL before we answered (RFC 3261 §9.2).
	ErrCanceled = errors.New("sip: call cancelled by caller")
	// ErrRemoteHangup: the caller sent BYE (RFC 3261 §15.1.2).
	ErrRemoteHangup = errors.New("sip: remote hangup")
	// ErrLocalHangup: the handler hung up with [IncomingCall.Hangup].
	ErrLocalHangup = errors.New("sip: local hangup")
	// ErrRejected: the handler rejected the call with a final error response.
	ErrRejected = errors.New("sip: call rejected")
	// ErrHandlerDone: the handler returned.
	ErrHandlerDone = errors.New("sip: call handler returned")
	// ErrSessionExpired: no session refresh arrived in time (RFC 4028 §10).
	ErrSessionExpired = errors.New("sip: session timer expired")
	// ErrNoAck: no ACK came for our 2xx within 64*T1 (RFC 3261 §13.3.1.4).
	ErrNoAck = errors.New("sip: no ACK for 2xx")
	// ErrServerClosed: the server is closing.
	ErrServerClosed = errors.New("sip: server closed")
	// ErrCallEnded: the operation needs a call that has not ended.
	ErrCallEnded = errors.New("sip: call has ended")
	// ErrAlreadyAnswered: a final response was already sent.
	ErrAlreadyAnswered = errors.New("sip: final response already sent")
	// ErrNotEstablished: the operation needs an established (answered) call.
	ErrNotEstablished = errors.New("sip: call not established")
)

// Configuration errors from [NewServer].
var (
	ErrInvalidConfig = errors.New("sip: invalid config")
)

// Protocol errors: the server answers requests that fail its checks with
// these, through [StatusCode] like every other error response.
var (
	errBadRequest        = errors.New("sip: bad request")
	errBadExtension      = errors.New("sip: bad extension")
	errUnsupportedMedia  = errors.New("sip: unsupported media type")
	errUnauthorized      = errors.New("sip: authentication required")
	errProxyAuth         = errors.New("sip: proxy authentication required")
	errIntervalTooSmall  = errors.New("sip: session interval too small")
	errNoDialog          = errors.New("sip: call/transaction does not exist")
	errRequestPending    = errors.New("sip: request pending")
	errCSeqOrder         = errors.New("sip: CSeq out of order")
	errMethodNotAllowed  = errors.New("sip: method not allowed")
	errUnknownAOR        = errors.New("sip: address-of-record not in our domain")
	errIntervalTooBrief  = errors.New("sip: registration interval too brief")
	errRateLimited       = fmt.Errorf("%w: rate limit", ErrOverloaded)
	errTrunkFull         = fmt.Errorf("%w: trunk at max_calls", ErrOverloaded)
	errTooManyHops       = errors.New("sip: too many hops")
	errUnsupportedScheme = errors.New("sip: unsupported URI scheme")
	errLoopDetected      = errors.New("sip: loop detected")
)

// RequestFailedError is returned by requests we send inside a dialog (BYE,
// INFO, refreshes) when the peer answers with a non-2xx final response.
type RequestFailedError struct {
	Method string
	Code   int
	Reason string
}

func (e *RequestFailedError) Error() string {
	return fmt.Sprintf("sip: %s failed: %d %s", e.Method, e.Code, e.Reason)
}

// statusTable is the one place where an error becomes a SIP status code and
// reason phrase (RFC 3261 §21). Order matters: the first match wins.
var statusTable = []struct {
	err    error
	code   int
	reason string
}{
	{ErrMoved, 302, "Moved Temporarily"},
	{ErrNoSuchRoom, 404, "Not Found"},
	{ErrNoCommonCodec, 488, "Not Acceptable Here"},
	{ErrSRTPRequired, 488, "Not Acceptable Here"},
	{ErrUnsupportedTransport, 488, "Not Acceptable Here"},
	{ErrNotAcceptable, 488, "Not Acceptable Here"},
	{ErrOverloaded, 503, "Service Unavailable"},
	{ErrServerClosed, 503, "Service Unavailable"},
	{ErrForbidden, 403, "Forbidden"},
	{ErrBusy, 486, "Busy Here"},
	{ErrNotAnswered, 480, "Temporarily Unavailable"},
	{ErrCanceled, 487, "Request Terminated"},
	{ErrRemoteHangup, 487, "Request Terminated"},
	{errBadRequest, 400, "Bad Request"},
	{ErrBadDTMF, 400, "Bad Request"},
	{errBadExtension, 420, "Bad Extension"},
	{errTooManyHops, 483, "Too Many Hops"},
	{errUnsupportedScheme, 416, "Unsupported URI Scheme"},
	{errLoopDetected, 482, "Loop Detected"},
	{errUnsupportedMedia, 415, "Unsupported Media Type"},
	{errUnauthorized, 401, "Unauthorized"},
	{errProxyAuth, 407, "Proxy Authentication Required"},
	{errIntervalTooSmall, 422, "Session Interval Too Small"},
	{errNoDialog, 481, "Call/Transaction Does Not Exist"},
	{errRequestPending, 491, "Request Pending"},
	{errCSeqOrder, 500, "Server Internal Error"},
	{errMethodNotAllowed, 405, "Method Not Allowed"},
	{errUnknownAOR, 404, "Not Found"},
	{errIntervalTooBrief, 423, "Interval Too Brief"},
}

// StatusCode returns the SIP status code for err: the code of the first
// sentinel in errors.go that err wraps, 488 for an unrecognised error from
// a re-INVITE offer (see [IncomingCall.OnReInvite]), and 500 otherwise.
func StatusCode(err error) int {
	code, _ := status(err, 500)
	return code
}

// status maps err to a code and reason phrase, with fallback for errors no
// sentinel matches.
func status(err error, fallback int) (int, string) {
	for _, s := range statusTable {
		if errors.Is(err, s.err) {
			return s.code, s.reason
		}
	}
	switch fallback {
	case 488:
		return 488, "Not Acceptable Here"
	default:
		return 500, "Server Internal Error"
	}
}
