// Package room defines the boundary between the gateway and the place where
// rooms live: the embedded SFU (package sfu) or an external LiveKit cluster
// (package gateway/room/livekit). Every SIP leg, IVR session and API call
// talks to rooms only through these interfaces, so both backends can be swapped
// by configuration and checked by one conformance suite.
package room
