// Package dialout runs the calls the room API places: POST
// /v1/rooms/{name}/dial. A [Registry] keeps each call's state machine —
// dialing, ringing, answered, ended, with the SIP status, the cause and
// the timestamps — drives it with a [Dialer] (the outbound trunks), and
// hands the media to a [Media] that a [MediaFactory] makes per call: the
// offer for the INVITE, early media on 183, and, on answer, the callee
// joining the room as a participant.
//
// The media pipeline provides the real MediaFactory. Until then
// [SignallingOnly] offers G.711 on a reserved RTP port and carries no
// audio: the call is placed, rings, is answered and hung up, but the
// callee is not in the room.
package dialout
