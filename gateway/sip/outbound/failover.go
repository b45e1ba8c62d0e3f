package outbound

import (
	"errors"

	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// FailoverStatus reports whether a call attempt that ended with err moves
// on to the next trunk. This is the one place the rule lives:
//
//   - no response at all (the INVITE timed out or could not be sent), 408
//     Request Timeout, and every 5xx: the trunk could not carry the call,
//     another one may;
//   - 401 and 407 that our credentials could not answer: they belong to
//     this trunk, the next has its own;
//   - every other final response is the callee's answer and ends the
//     call: 486 Busy Here, 600 Busy Everywhere, 603 Decline, 404 Not Found,
//     480, 484, 487 (cancelled) and the rest of 4xx and 6xx.
//
// Within one trunk, its servers (RFC 3263) are tried in turn on no
// response and on 503 only (RFC 3263 §4.3).
func FailoverStatus(err error) bool {
	if err == nil || errors.Is(err, uac.ErrCanceled) {
		return false
	}
	if errors.Is(err, uac.ErrNoResponse) || errors.Is(err, uac.ErrTransport) || errors.Is(err, ErrResolve) || errors.Is(err, uac.ErrRealm) {
		return true
	}
	code := uac.StatusCode(err)
	switch {
	case code == 408, code == 401, code == 407:
		return true
	case code >= 500 && code < 600:
		return true
	}
	return false
}
