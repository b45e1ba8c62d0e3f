// Package sipws carries SIP over WebSocket (RFC 7118) for browser SIP
// stacks such as JsSIP and SIP.js, on the same sipgo server, transaction
// layer and call handlers as UDP, TCP and TLS.
//
// A [Listener] is two things at once. Towards browsers it is an HTTP server
// that checks each opening handshake before upgrading it (the `Origin`
// against an allow-list, the `sip` subprotocol of RFC 7118 §4, a limit of
// sockets per source address) and then speaks WebSocket with
// github.com/gorilla/websocket: pings, pongs, close frames, fragmented and
// binary messages, a read limit and a silence timeout. Towards sipgo it is
// a net.Listener: hand it to sipgo's ServeWS (or ServeWSS) and every
// accepted socket appears there as a [Conn] that already speaks the simple
// subset of WebSocket framing sipgo's transport expects (one masked text
// frame per SIP message in, one text frame per SIP message out). sipgo then
// parses, keeps the connection in its WS/WSS pool under the browser's
// address, and sends responses and in-dialog requests back over it
// (RFC 7118 §5: a browser's Via and Contact hosts are ".invalid" names that
// nobody can resolve; the socket is the only way back).
//
// Why not sipgo's own WebSocket transport alone: it upgrades inside its
// accept loop (one slow client stalls every other), cannot refuse an Origin
// or a missing subprotocol before the upgrade, never pings, leaves the
// payload of control frames in the stream, drops continuation frames, and
// logs every garbage frame at error level. Here a non-SIP or garbage
// message closes only its own socket, with close code 1002.
//
// Keep-alives: double-CRLF pings (RFC 5626 §3.5.1, as SIP.js sends them)
// are answered with a single CRLF by this package; WebSocket pings go out
// every PingInterval, and a socket silent (no message, no pong) for
// 2.5 × PingInterval is closed.
//
// WebRTC media: browsers' INVITEs carry WebRTC offers (ICE, DTLS-SRTP,
// rtcp-mux, BUNDLE, Opus). [Media] answers them, one pion PeerConnection
// per call ([Leg]) from one shared webrtc.API, and the gateway's bridge
// writes the leg's Opus to it and reads the browser's from it.
package sipws
