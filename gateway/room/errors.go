package room

import "errors"

// Errors shared by both backends. Backends wrap them with %w so callers can
// map them to SIP and HTTP status codes with errors.Is.
var (
	// ErrParticipantNotFound: no such participant in that room.
	ErrParticipantNotFound = errors.New("room: participant not found")
	// ErrRoomNotFound: the room has no participants or does not exist in
	// the backend.
	ErrRoomNotFound = errors.New("room: room not found")
	// ErrClosed: the participant has left or the backend is shut down.
	ErrClosed = errors.New("room: closed")
	// ErrUnavailable: the backend cannot be reached (LiveKit down); the
	// gateway answers new calls with 503.
	ErrUnavailable = errors.New("room: backend unavailable")
	// ErrUnsupportedCodec: the backend cannot carry that codec.
	ErrUnsupportedCodec = errors.New("room: unsupported codec")
	// ErrDuplicateIdentity: a participant with that identity is in the room.
	ErrDuplicateIdentity = errors.New("room: duplicate identity")
	// ErrNoFrame: FramePoller.PollFrame found no frame queued.
	ErrNoFrame = errors.New("room: no frame queued")
)
