package bfcp

import "errors"

// Errors of Parse; they wrap ErrMalformed.
var (
	// ErrMalformed is a message that is not BFCP or breaks its framing.
	ErrMalformed = errors.New("bfcp: malformed message")
	// ErrFragmented is a fragmented message (RFC 8855 §6.2.3), which the
	// server does not reassemble: the messages it takes are small.
	ErrFragmented = errors.New("bfcp: fragmented message")
	// ErrClosed is returned by a closed Server.
	ErrClosed = errors.New("bfcp: server closed")
)
