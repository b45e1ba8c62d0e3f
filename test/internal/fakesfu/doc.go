// Package fakesfu is an echo server for the web client's signalling
// protocol (sfu/protocol.go), so that the room page can be tested in a
// browser without the gateway. Each participant that joins gets its own
// microphone and camera back on its "sub" connection, presented as a second
// participant named "Echo" whose participant id is the stream id. Tests
// push any other server message (active_speakers, muted, removed, error)
// with Send and read what the client sent with Received.
package fakesfu
