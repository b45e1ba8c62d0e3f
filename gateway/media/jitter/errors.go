package jitter

import "errors"

var (
	// ErrBadConfig is returned by New for an unusable Config.
	ErrBadConfig = errors.New("jitter: bad config")
	// ErrTooLarge is returned by Push for a payload over Config.MaxPayload.
	ErrTooLarge = errors.New("jitter: payload too large")
)
