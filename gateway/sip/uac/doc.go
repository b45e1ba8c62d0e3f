// Package uac is a SIP user-agent client for one outgoing call, built on
// github.com/emiago/sipgo: the caller's side of RFC 3261.
//
// Dial sends the INVITE (with an SDP offer, or without one for a delayed
// offer, RFC 3261 §13.2.1), passes 100/180/183 to a callback, answers one
// digest challenge (RFC 3261 §22.2, 401 and 407), sends CANCEL when its
// context ends before the answer (§9.1), and ACKs the 2xx (§13.2.2.4).
// A non-2xx final response is a *StatusError.
//
// The returned Call is the dialog: it sends BYE, INFO (RFC 6086) and
// re-INVITEs, answers the peer's BYE, INFO, re-INVITE and UPDATE, and runs
// the session timer of RFC 4028: it refreshes at half the interval when
// the 2xx makes it the refresher, and hangs up when the peer, as
// refresher, lets the session expire.
//
// Each Call has its own sipgo user agent and SIP socket, so calls do not
// share state and closing one frees everything it held. That suits test
// callers and load generators, the package's users; it is not a phone.
//
// The package handles signalling only: SDP bodies pass through as []byte.
package uac
