// Package sdp implements SDP offer/answer (RFC 3264) for the SIP legs of the
// gateway: it parses what phones, SIP trunks and room systems send
// (RFC 8866, formerly RFC 4566), answers it according to a [Policy], builds
// our own offers for delayed-offer calls and dial-out, and checks the answers
// we get back.
//
// The negotiated session is modelled as plain Go values ([Session], [Media],
// [Codec], [Crypto]) so that the SIP layer can decide on status codes and the
// RTP layer can be configured without reading SDP text. Text is parsed and
// written with github.com/pion/sdp/v3, after a tolerant pre-pass that absorbs
// the quirks of real-world SIP SDP (bare LF, missing optional lines, lines out
// of order, unknown media types such as T.38 "m=image").
//
// Video for room systems: an H.264 stream (packetization modes 0 and 1,
// profile-level-id answered within the offer, max-fs/max-mbps read into
// [H264Params.Limits], rtcp-fb nack/pli/fir/tmmbr and goog-remb echoed when
// offered (our own offers name nack/pli/fir only), b=AS and
// b=TIAS, a=content) and a second, slides stream (RFC 4796) accepted or
// rejected by [Policy]; a policy without video answers every video line
// with port 0.
//
// Scope: SIP legs only — plain RTP/AVP and SDES-keyed RTP/SAVP (RFC 4568),
// with the AVPF variants. ICE and DTLS-SRTP belong to the WebRTC legs in
// sipws and sfu.
//
// The package is a leaf: it imports nothing of the project.
package sdp
