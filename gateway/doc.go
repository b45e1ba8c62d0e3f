// Package gateway is Roombridge's orchestrator: it decides who may enter
// which room (web admission, and as SIP legs arrive, call routing), and
// bridges legs into the room backend. It reaches the SFU, the IVR and the
// SIP-over-WebSocket side only through interfaces; the wiring happens in
// cmd/roombridge.
package gateway
