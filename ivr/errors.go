package ivr

import "errors"

var (
	// ErrNotFound is what a LookupFunc returns (or wraps) for a PIN that
	// opens no room; the session counts it as a wrong PIN.
	ErrNotFound = errors.New("ivr: PIN not found")
	// ErrConfig is wrapped by New for an invalid Config field.
	ErrConfig = errors.New("ivr: invalid config")
)
