// Package bfcp is the Binary Floor Control Protocol (RFC 8855) as a room
// system's content sharing needs it: the message codec and a floor
// control server over UDP (BFCP version 2, RFC 8855 §6.2).
//
// Cisco and Poly room systems ask for the floor before they send on their
// content stream (a=content:slides, RFC 4796) and show who holds it; the
// SDP that sets the session up is RFC 8856 (m=application UDP/BFCP,
// a=floorctrl, a=confid, a=userid, a=floorid). The server grants the floor
// to the room system when it asks, releases it when told, answers Hello
// and the queries, and tells the room system (FloorStatus, and a revoke of
// its own request) when someone in the room takes the floor by sharing a
// screen.
//
// It imports only the standard library.
package bfcp
