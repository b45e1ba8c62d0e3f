// Package gateway is Roombridge's orchestrator: it decides who may enter
// which room (web admission, and as SIP legs arrive, call routing), and
// bridges legs into the room backend. It reaches the SFU, the IVR and the
// SIP-over-WebSocket side only through interfaces; the wiring happens in
// cmd/roombridge.
//
// The Gateway is a sip.CallHandler. Each call lives as long as its
// HandleCall: refuse a source locked out for wrong PINs (lockout.go), route
// the dialled user to a room or to the PIN IVR (route.go), answer the SDP
// offer or make one for a delayed offer (negotiate.go), open the leg's RTP
// session, join the room as a SIP participant publishing one Opus track,
// and run until the caller hangs up, the RTP or session timer fires, the
// room removes the participant, or the gateway closes (call.go, serve.go).
//
// The PIN IVR (ivrcall.go) answers dial-in numbers, and rooms dialled
// directly that want their PIN: an ivr.Session decides, the call carries
// out its actions. Until it joins, the leg runs on its own 20 ms clock
// goroutine, which plays prompts (player.go) and drains the jitter buffer;
// on join the leg moves to the room hub's clock. Hosts are counted per room
// so that guests of wait_for_host rooms are released when one joins.
//
// DTMF: RFC 4733 events (on the RTP reader goroutine), SIP INFO (on the SIP
// server's) and in-band tones (a Goertzel detector on the clock, when the
// peer has no telephone-event or the trunk says inband) are queued to the
// call's goroutine, which merges them into one stream without the doubles
// of a press signalled two ways (dtmf.Merger) and gives it to the IVR, or,
// once joined, to the in-call keys *6 (mute) and *1 (participant count)
// (incall.go).
// In-band keys are kept from the room: from the frame in which the detector
// reports a key until 40 ms after its tones end, the leg's audio is neither
// mixed nor encoded (tonegate.go); the first 35–40 ms of each tone, before
// the detector is sure, still leak. Telephone-events never reach the mix:
// only the negotiated audio payload type goes into the jitter buffer.
//
// Media (leg.go, hub.go, hubtrack.go): each room with SIP legs on this node
// has one audio hub, a hidden participant with a single 20 ms clock
// goroutine. Per tick, every leg's jitter buffer gives one frame, decoded
// (G.711 or G.722, with PLC) and gated by a voice detector; voice goes into
// the mixer at 16 kHz directly and, Opus-encoded at the leg's own rate, to
// the room. Silent frames are neither mixed nor encoded: the room track's
// clock advances without a packet (discontinuous transmission). Every other
// participant's Opus track is decoded once per room, whatever the number of
// listeners. After the mix, every leg gets the room minus itself (N−1, the
// loudest four speakers), encoded for the phone and sent. Nothing allocates
// per frame and no lock is held while writing to the network.
//
// Quality (quality.go) gives per-leg loss, jitter, RTT and E-model MOS for
// the room API; metrics.go registers the Prometheus metrics.
package gateway
