package caller

import "errors"

// Sentinel errors; Run wraps them with detail.
var (
	// ErrInvalidOptions reports Options that cannot make a call; the
	// wrapping error names the field.
	ErrInvalidOptions = errors.New("caller: invalid options")
	// ErrBadWAV reports a WAV file that is not 8 or 16 kHz mono 16-bit PCM.
	ErrBadWAV = errors.New("caller: unsupported WAV")
	// ErrBadAnswer reports an SDP answer that does not fit our offer.
	ErrBadAnswer = errors.New("caller: unusable SDP answer")
)
