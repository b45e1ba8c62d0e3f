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
// goroutine, which plays prompts and drains the jitter buffer; on join the
// leg moves to the room hub's clock. Hosts are counted per room so that
// guests of wait_for_host rooms are released when one joins.
//
// DTMF: RFC 4733 events (on the RTP reader goroutine), SIP INFO (on the SIP
// server's) and in-band tones (a Goertzel detector on the clock, when the
// peer has no telephone-event or the trunk says inband) are queued to the
// call's goroutine, which merges them into one stream without the doubles
// of a press signalled two ways (dtmf.Merger) and gives it to the IVR, or,
// once joined, to the in-call keys *6 (mute) and *1 (participant count)
// (incall.go).
//
// Media belongs to gateway/bridge: a call composes its leg there from the
// negotiated codec (bridge.NewLeg), attaches its RTP session, and hands the
// leg to its room's bridge.Hub, one per room on this node (hub.go keeps
// them and counts their users).
//
// Quality (quality.go) gives per-leg loss, jitter, RTT and E-model MOS for
// the room API; metrics.go registers the Prometheus metrics.
package gateway
