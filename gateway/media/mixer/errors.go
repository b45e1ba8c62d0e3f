package mixer

import "errors"

var (
	// ErrBadConfig is returned by New for an unusable Config.
	ErrBadConfig = errors.New("mixer: bad config")
	// ErrFrameSize is returned by Source.Write for a frame that is not
	// Config.FrameSamples long.
	ErrFrameSize = errors.New("mixer: wrong frame size")
)
