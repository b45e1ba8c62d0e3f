// Package livekit is the external LiveKit backend of the gateway: it
// implements room.Backend and room.Directory on a livekit-server (or a
// cluster) through livekit/server-sdk-go/v2 and a client of its own.
//
// Every participant the gateway joins (a SIP leg, the room audio hub) is one
// LiveKit client connection of its own: signalling over WebSocket, media over
// a WebRTC PeerConnection with DTLS-SRTP, as LiveKit's own SIP service does.
// Phone legs, which only publish and are most of the participants, join with
// the adapter's own lean client (lean_*.go on package lksignal): one
// send-only PeerConnection from an API and certificate all legs share, no
// data channels, no mDNS. Participants that subscribe (the hub, room
// systems, a phone leg's receiving companion) use server-sdk-go.
// The participant's kind is set through its access token (SIP legs show as
// ParticipantInfo_SIP), hidden participants join with the Hidden grant and
// may not publish, and the administrative side (listing, mute, kick, close)
// goes through LiveKit's RoomService API.
//
// The backend keeps a cached health state, refreshed every few seconds by a
// cheap RoomService call, so that Join fails at once with
// room.ErrUnavailable while LiveKit cannot be reached (the gateway answers
// 503) instead of making callers wait for connection timeouts.
package livekit
