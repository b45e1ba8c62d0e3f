// Package rtp is the RTP/SRTP/RTCP endpoint of one SIP leg.
//
// A [PortPool] hands out even/odd UDP port pairs (RTP on the even port,
// RTCP on the next one, RFC 3550 §11). A [Session] owns one pair for the
// life of a leg: it receives, authenticates and decrypts RTP (SDES-keyed
// SRTP, RFC 3711 / RFC 4568), latches onto the address the peer really sends
// from (symmetric RTP, RFC 4961, for phones behind NAT), sends RTP with its
// own SSRC and sequence numbers, keeps RTCP going (SR/RR, SDES, BYE; RFC 3550
// §6), derives loss, jitter and round-trip time from it, estimates a MOS
// with the ITU-T G.107 E-model, and reports RTP inactivity.
//
// The package is the transport only: the jitter buffer, codecs and DTMF are
// stages in gateway/media that the caller composes behind [Handler].
//
// The media path does not allocate: one goroutine per socket reads into a
// buffer it owns, decrypts in place and hands a reused *rtp.Packet to the
// Handler; WriteRTP marshals and encrypts into pooled buffers and writes to
// the socket with no lock held.
package rtp
