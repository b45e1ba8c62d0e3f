// Package sfu is Roombridge's embedded selective forwarding unit, built on
// pion/webrtc v4. Rooms hold participants; each WebRTC participant publishes
// audio (Opus) and optionally video (VP8 or H.264) and receives everyone
// else's tracks, with RTCP feedback (PLI/FIR relayed to the publisher,
// NACK/RTX through pion/interceptor) and active-speaker detection from the
// audio-level header extension (RFC 6464).
//
// The same rooms take in-process bot participants: SIP legs publish Opus
// frames and H.264 access units and read other participants' tracks without
// any WebRTC connection between gateway and SFU. The SFU implements
// room.Backend and room.Directory.
//
// Browsers reach it through the WebSocket signalling in signal_*.go; the
// protocol is documented in protocol.go.
package sfu
