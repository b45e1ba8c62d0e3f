package bridge

import "errors"

var (
	// ErrCodec is returned by NewLeg for a codec no stage runs.
	ErrCodec = errors.New("bridge: codec not supported on a leg")
	// ErrBackend wraps a room backend failure while starting a hub.
	ErrBackend = errors.New("bridge: room backend")
)
