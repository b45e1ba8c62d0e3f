// Package caller is a scripted SIP caller: it dials a URI with
// gateway/sip/uac, offers one codec (with telephone-event and, if asked,
// SDES-SRTP), sends a tone or a WAV file in 20 ms RTP frames, sends DTMF as
// RFC 4733 events or SIP INFO, records what it hears through a jitter
// buffer, hangs up after a set duration and reports on the call: setup time,
// level and dominant frequencies of what it heard, packet counts, loss,
// jitter, round-trip time and an E-model MOS.
//
// It serves `roombridge call`, the load generator and the end-to-end tests,
// which run it in-process against the gateway.
package caller
