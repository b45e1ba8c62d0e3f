package room

import "context"

// TrackSource says what a video track shows: a person's camera or a shared
// screen (the content of a room system's second video stream). Audio
// tracks have TrackSourceUnknown.
type TrackSource int

// Track sources. The zero value is TrackSourceUnknown; a video track
// published with it counts as a camera.
const (
	TrackSourceUnknown TrackSource = iota
	TrackSourceCamera
	TrackSourceScreen
)

// String returns "camera", "screen" or "unknown".
func (s TrackSource) String() string {
	switch s {
	case TrackSourceCamera:
		return "camera"
	case TrackSourceScreen:
		return "screen"
	default:
		return "unknown"
	}
}

// ParseTrackSource is the inverse of String; it returns TrackSourceUnknown
// for anything it does not know.
func ParseTrackSource(s string) TrackSource {
	switch s {
	case "camera":
		return TrackSourceCamera
	case "screen":
		return TrackSourceScreen
	default:
		return TrackSourceUnknown
	}
}

// SourcedTrack is implemented by RemoteTracks that know what their video
// shows, so that a room system's leg can send a screen share on its
// content stream (a=content:slides) and cameras on its main one. Both
// backends' remote tracks implement it.
type SourcedTrack interface {
	// Source is TrackSourceCamera or TrackSourceScreen for video,
	// TrackSourceUnknown for audio.
	Source() TrackSource
}

// KindFilter is implemented by participants that can receive only some
// kinds of track: a room system's leg takes the room's video and leaves
// the audio to the room hub, which takes audio only, so that no phone leg
// ever receives video. Set it before OnTrack; without it a participant
// receives every kind. Both backends implement it.
type KindFilter interface {
	// SetKindFilter limits the tracks OnTrack is given to kinds.
	SetKindFilter(kinds ...TrackKind)
}

// Pinner is implemented by Directories whose rooms can pin a participant:
// the pinned participant's video is the one sent to room systems instead
// of the active speaker's. There is at most one pin per room; every
// participant of the room gets an EventPinned when it changes, and a pin
// ends when its participant leaves. Both backends implement it.
type Pinner interface {
	// Pin pins a visible participant, replacing any other pin. It
	// returns ErrParticipantNotFound when id is not in the room.
	Pin(ctx context.Context, room, id string) error
	// Unpin removes the pin of id; unpinning a participant that is not
	// pinned changes nothing and is not an error.
	Unpin(ctx context.Context, room, id string) error
	// Pinned is the pinned participant's id, "" when none.
	Pinned(ctx context.Context, room string) (string, error)
}

// TrackReleaser is implemented by participants that can stop receiving
// after OnTrack: the leg of a room system whose video a re-INVITE removed
// gives back what it subscribed to. Both backends implement it.
type TrackReleaser interface {
	// ReleaseTracks ends every track given to the OnTrack handler (their
	// ReadFrame returns io.EOF once what is queued is read), forgets the
	// handler and subscribes to nothing more; a later OnTrack gives every
	// track of the room again.
	ReleaseTracks()
}

// TrackIDer is implemented by VideoWriters that know the id of the track
// they publish, the one EventKeyframeRequested names, so that a
// participant publishing two video tracks (a room system's camera and
// its content) asks the right stream for a keyframe. Both backends'
// video writers implement it.
type TrackIDer interface {
	// TrackID is the published track's id.
	TrackID() string
}
