// Package video is the H.264 media path of a room-system leg: what travels
// between a SIP room system (Cisco, Poly, Yealink, baresip) and the room.
//
//   - [Depacketizer] turns RTP from the room system into Annex B access
//     units (RFC 6184: single NAL unit packets, STAP-A, FU-A; packetization
//     modes 0 and 1), drops what loss damaged, keeps the latest SPS/PPS and
//     puts them in front of each IDR that comes without them, and measures
//     frame rate, resolution and bitrate ([Meter]).
//   - [Packetizer] turns access units from the room into RTP towards the
//     room system, in mode 1 (STAP-A, FU-A) or mode 0 (single NAL units).
//   - [Switcher] chooses which of the room's H.264 sources the room system
//     sees (active speaker or pin) and switches only at a keyframe of the
//     new source, with timestamps that keep running; one Packetizer behind
//     it keeps SSRC and sequence numbers continuous.
//   - Keyframe requests cross the bridge in both directions: RTCP PLI and
//     FIR (RFC 4585, RFC 5104) and SIP INFO picture_fast_update
//     (RFC 5168), each rate-limited by a [KeyframeLimiter].
//   - [Slate] is the picture sent while no H.264 source exists: a small
//     H.264 stream showing the room's name, made without an encoder
//     library (I_PCM and flat intra macroblocks, see slate.go).
//
// Nothing here starts a goroutine, holds a lock or reads a clock: the leg
// that owns these values calls them from its own goroutine and passes the
// time in. Steady-state packet handling does not allocate (buffers are
// made once per value, or owned by the caller).
//
// The package is a leaf: it imports the standard library and pion/rtp and
// pion/rtcp only.
package video
