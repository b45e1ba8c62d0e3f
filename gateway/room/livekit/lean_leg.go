package livekit

import "github.com/roombridge/roombridge/gateway/room"

// leanLeg is what Join returns for a lean participant: the participant
// without DataPublisher, since a lean participant has no data channel
// (nothing in the gateway publishes data or DTMF for phone legs).
type leanLeg struct{ p *participant }

var (
	_ room.Participant   = leanLeg{}
	_ room.TrackFilter   = leanLeg{}
	_ room.KindFilter    = leanLeg{}
	_ room.TrackReleaser = leanLeg{}
)

// ID implements room.Participant.
func (l leanLeg) ID() string { return l.p.ID() }

// PublishAudio implements room.Participant.
func (l leanLeg) PublishAudio(c room.AudioCodec) (room.AudioWriter, error) {
	return l.p.PublishAudio(c)
}

// PublishVideo implements room.Participant.
func (l leanLeg) PublishVideo(c room.VideoCodec) (room.VideoWriter, error) {
	return l.p.PublishVideo(c)
}

// OnTrack implements room.Participant (through a companion, companion.go).
func (l leanLeg) OnTrack(fn func(room.RemoteTrack)) { l.p.OnTrack(fn) }

// RequestKeyframe implements room.Participant.
func (l leanLeg) RequestKeyframe(trackID string) error { return l.p.RequestKeyframe(trackID) }

// SetMuted implements room.Participant.
func (l leanLeg) SetMuted(kind room.TrackKind, muted bool) error { return l.p.SetMuted(kind, muted) }

// Events implements room.Participant.
func (l leanLeg) Events() <-chan room.Event { return l.p.Events() }

// Leave implements room.Participant.
func (l leanLeg) Leave(reason string) error { return l.p.Leave(reason) }

// SetTrackFilter implements room.TrackFilter.
func (l leanLeg) SetTrackFilter(want func(string) bool) { l.p.SetTrackFilter(want) }

// SetKindFilter implements room.KindFilter.
func (l leanLeg) SetKindFilter(kinds ...room.TrackKind) { l.p.SetKindFilter(kinds...) }

// ReleaseTracks implements room.TrackReleaser.
func (l leanLeg) ReleaseTracks() { l.p.ReleaseTracks() }
