// Package dialout runs the calls the room API places: POST
// /v1/rooms/{name}/dial. A [Registry] keeps each call's state machine —
// dialing, ringing, answered, ended, with the SIP status, the cause and
// the timestamps — drives it with a [Dialer] (the outbound trunks), and
// hands the media to a [Media] that a [MediaFactory] makes per call: the
// offer for the INVITE, early media on 183, and, on answer, the callee
// joining the room as a participant.
//
// The gateway's MediaFactory (gateway.Gateway.DialMedia) puts an answered
// callee into its room as an ordinary SIP participant with audio both
// ways. [SignallingOnly] carries no audio: it serves tests of the
// signalling alone.
package dialout
