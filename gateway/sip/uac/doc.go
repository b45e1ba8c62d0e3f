// Package uac is the gateway's SIP user-agent client, built on
// github.com/emiago/sipgo: the caller's side of RFC 3261, for the test
// caller, the load generator and calls out through carriers
// (gateway/sip/outbound).
//
// Dial sends the INVITE (with an SDP offer, or without one for a delayed
// offer, RFC 3261 §13.2.1), with extra headers if asked, to the
// Request-URI's host or to a Destination chosen by RFC 3263 resolution; it
// passes 100/180/183 to a callback, answers one digest challenge (RFC 3261
// §22.2, 401 and 407, optionally of one realm only), sends CANCEL when its
// context ends before the answer (§9.1), abandons an INVITE that got no
// response at all within ResponseTimeout, and ACKs the 2xx (§13.2.2.4).
// A non-2xx final response is a *StatusError.
//
// The returned Call is the dialog: it sends BYE, INFO (RFC 6086) and
// re-INVITEs, answers the peer's BYE, INFO, re-INVITE and UPDATE, and runs
// the session timer of RFC 4028: it refreshes at half the interval when
// the 2xx makes it the refresher, and hangs up when the peer, as
// refresher, lets the session expire.
//
// An Agent sends what lives outside a dialog: REGISTER (RFC 3261 §10,
// with digest, 423 Min-Expires and the granted lifetime) and OPTIONS
// pings (§11).
//
// Each Call and each Agent has its own sipgo user agent and SIP socket, so
// they share no state and closing one frees everything it held.
//
// The package handles signalling only: SDP bodies pass through as []byte.
package uac
