package gateway

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// privateRoomPrefix starts the names of private bridges; no room of the
// store can have it (room names are [a-z0-9_-]).
const privateRoomPrefix = "c2c:"

func isPrivateRoom(name string) bool { return strings.HasPrefix(name, privateRoomPrefix) }

// backendOf is where the room named name lives: a private bridge's
// nowhere, any other room's in the configured backend.
func (g *Gateway) backendOf(name string) room.Backend {
	if isPrivateRoom(name) {
		return privateBackend{}
	}
	return g.cfg.Backend
}

// privateBackend is the backend of a click-to-call's two-party bridge: the
// caller's and the callee's legs meet in a room audio hub of their own,
// which gives each the other's audio (the N−1 mix of two), and no room
// backend hears of them. Its rooms are listed nowhere, hold no track and
// forward nothing; the participants exist only so that the legs join a
// hub as every other leg does.
type privateBackend struct{}

var _ room.Backend = privateBackend{}

// Join implements room.Backend: a participant that publishes into the
// void.
func (privateBackend) Join(_ context.Context, _ string, info room.ParticipantInfo) (room.Participant, error) {
	return &privateParticipant{id: info.Identity, events: make(chan room.Event)}, nil
}

// privateParticipant is a participant of a private bridge.
type privateParticipant struct {
	id     string
	once   sync.Once
	events chan room.Event
}

func (p *privateParticipant) ID() string { return p.id }

// PublishAudio returns a writer that nobody listens to, so that phone
// legs skip their Opus encoding for the room altogether.
func (p *privateParticipant) PublishAudio(room.AudioCodec) (room.AudioWriter, error) {
	return unheardWriter{}, nil
}

func (p *privateParticipant) PublishVideo(room.VideoCodec) (room.VideoWriter, error) {
	return nil, room.ErrUnsupportedCodec
}

func (p *privateParticipant) OnTrack(func(room.RemoteTrack))      {}
func (p *privateParticipant) RequestKeyframe(string) error        { return nil }
func (p *privateParticipant) SetMuted(room.TrackKind, bool) error { return nil }
func (p *privateParticipant) Events() <-chan room.Event           { return p.events }

// Leave closes the participant's events; it is idempotent.
func (p *privateParticipant) Leave(string) error {
	p.once.Do(func() { close(p.events) })
	return nil
}

// unheardWriter is the audio track of a private participant.
type unheardWriter struct{}

func (unheardWriter) WriteAudio([]byte, time.Duration) error { return nil }
func (unheardWriter) Close() error                           { return nil }
func (unheardWriter) Listened() bool                         { return false }
