// Package bridge owns the media of every leg that meets a room: the
// per-leg pipeline between a packet transport and the room, and the room's
// audio hub that mixes the legs of one room on one 20 ms clock. The gateway
// root decides who goes where (call control, routing, IVR); this package
// moves the audio.
//
// # A leg is a composition of stages
//
// Every audio leg runs the same tick with different stages plugged in; the
// codec decides which, once, in NewLeg (kinds.go), and nothing in the tick
// switches on it:
//
//	transport ─▶ HandleRTP ─▶ jitter buffer ─▶ decoder (+PLC) ─▶ key gate ─▶ VAD ─┬─▶ mix port (to the mix rate) ─▶ mixer
//	                        └▶ RFC 4733 ─▶ digits                               └─▶ publisher ─▶ room.AudioWriter
//	mixer ─▶ mix port (N−1, to the leg's rate) ─▶ players (prompts, tones) ─▶ encoder ─▶ Sender (transport)
//
// The stages that differ between kinds of leg:
//
//   - decoder: G.711, G.722 (with the G.711 Appendix I style concealer of
//     gateway/media/plc) or Opus (its own concealment and in-band FEC);
//   - publisher: for a phone, Opus-encodes its voice frames at the phone's
//     own rate while anyone outside the hub listens (encodePublisher); for
//     an Opus leg, writes each frame to the room as it arrived, untouched
//     (passthroughPublisher), while the same frame, decoded once, feeds the
//     mix for the phones;
//   - encoder: G.711, G.722 or Opus, for what the leg hears.
//
// The kinds of leg the gateway runs or will run are compositions of these:
//
//	phone (G.711/G.722, RTP/SRTP)       NewLeg{Codec: PCMU|PCMA|G722} + *rtp.Session as Sender and receiver
//	Opus SIP trunk (RTP/SRTP)           NewLeg{Codec: Opus} + *rtp.Session
//	browser SIP leg (WebRTC, DTLS-SRTP) NewLeg{Codec: Opus} + a pion track pair: its TrackLocal behind a
//	                                    Sender, its TrackRemote's reader goroutine calling Leg.HandleRTP
//	room system video (H.264)           a video stage beside the audio leg: it has no clock and no mix,
//	                                    only packets ↔ access units (gateway/video) ↔ room.VideoWriter /
//	                                    room.RemoteTrack, on its own transport (its m-line's session)
//
// The transport is an interface (Sender out, Leg.HandleRTP in, both in
// pion's RTP packet type), so a leg never knows whether its packets travel
// over our rtp.Session or a WebRTC PeerConnection.
//
// # The room hub
//
// Hub is a room's audio on this node: a hidden participant that reads every
// other participant's Opus track, decodes each once per room (not once per
// listener), mixes them with the legs' PCM and gives each leg the room minus
// itself (N−1, the loudest few). One goroutine per hub runs the clock; a
// leg's pull (its frame into the mix and to the room) and push (its mix out
// to the transport) run on it. Before a leg joins a hub (the PIN IVR), the
// leg runs its own clock goroutine with the same stages minus the mix.
//
// The mix runs at 8 kHz while every leg of the hub is narrowband (G.711), so
// that a room of phones never resamples 8→16→8 kHz, and at 16 kHz as soon as
// a wideband leg (G.722, Opus) joins; it switches back when the last one
// leaves (rate.go). Remote tracks are decoded straight to the mix rate.
//
// Rules: nothing allocates per frame in steady state (buffers are made in
// NewLeg and NewHub; the benchmarks and TestZeroAllocs check it), no lock is
// held while writing to the network, and the hub's clock never waits for a
// remote track: it polls the backend's frame queue (room.FramePoller).
package bridge
