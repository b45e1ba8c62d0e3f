// Package sip is the SIP signalling side of the gateway: a user-agent server
// built on github.com/emiago/sipgo that accepts calls from SIP trunks, phones
// and room systems over UDP, TCP and TLS (RFC 3261 §18), and from SIP
// clients over WebSocket (RFC 7118; [Server.ServeWS] with a sipws.Listener).
//
// A call lives as long as its handler. For every INVITE that passes the
// trunk allow-list, digest authentication (RFC 3261 §22, RFC 8760) and the
// session-timer checks (RFC 4028), the [Server] starts [CallHandler.HandleCall]
// in its own goroutine with an [IncomingCall]. The handler answers or rejects
// the call, reacts to re-INVITEs and INFO, and returns when it is done; the
// server then hangs up (BYE once established, a final error response before
// that) and frees everything the call held. The call's [IncomingCall.Context]
// is cancelled, with a cause from errors.go, when the caller cancels or hangs
// up, the session timer expires, or the server closes.
//
// SDP bodies pass through as []byte: offer/answer is the caller's business.
// SIP status codes for errors are chosen in one place, [StatusCode], from the
// sentinel errors in errors.go; the gateway rejects calls with
// [IncomingCall.RejectErr] and a wrapped sentinel.
//
// With [Config.Users] and [Config.Registrar] it is also a registrar for
// browser and softphone users (RFC 3261 §10.3, register.go), and admits
// their INVITEs from sources no trunk allows by the same digest accounts.
//
// The package also parses the bodies of SIP INFO that matter to a media
// gateway: DTMF relay ([ParseDTMFRelay]) and RFC 5168 picture_fast_update
// ([IsPictureFastUpdate]).
//
// This package is signalling only: it imports nothing of the project's media,
// room or SDP packages.
package sip
