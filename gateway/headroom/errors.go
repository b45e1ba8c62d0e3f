package headroom

import "errors"

// ErrInvalidConfig is returned by New for unusable ceilings.
var ErrInvalidConfig = errors.New("headroom: invalid config")
