package ivr

import (
	"fmt"
	"time"
)

// Config holds the IVR's timeouts and limits; the zero value of a field
// means its default. It is copied by New.
type Config struct {
	// FirstDigitTimeout is how long the caller has, after the PIN prompt
	// ends (or after "*"), to press the first key. Default 10 s.
	FirstDigitTimeout time.Duration
	// InterDigitTimeout is how long the caller has between keys. Default 5 s.
	InterDigitTimeout time.Duration
	// MaxAttempts is how many wrong PINs and timeouts, together, end the
	// call. Default 3.
	MaxAttempts int
	// PINMaxLen is the longest PIN; one more digit makes the entry wrong
	// without a lookup. Default 12.
	PINMaxLen int
	// LookupTimeout bounds one Lookup call. Default 5 s.
	LookupTimeout time.Duration
	// HostWaitTimeout bounds the wait for a host; 0 waits until the caller
	// hangs up.
	HostWaitTimeout time.Duration
	// AnnounceCount says "there are N people in this meeting" after a join
	// to a room with others in it. "You are the first participant" is said
	// to the first one either way.
	AnnounceCount bool
}

// Defaults.
const (
	DefaultFirstDigitTimeout = 10 * time.Second
	DefaultInterDigitTimeout = 5 * time.Second
	DefaultMaxAttempts       = 3
	DefaultPINMaxLen         = 12
	DefaultLookupTimeout     = 5 * time.Second
)

// withDefaults fills in the zero fields and checks the others.
func (c Config) withDefaults() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.FirstDigitTimeout, DefaultFirstDigitTimeout)
	def(&c.InterDigitTimeout, DefaultInterDigitTimeout)
	def(&c.LookupTimeout, DefaultLookupTimeout)
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.PINMaxLen == 0 {
		c.PINMaxLen = DefaultPINMaxLen
	}
	switch {
	case c.FirstDigitTimeout < 0:
		return c, fmt.Errorf("%w: FirstDigitTimeout %v is negative", ErrConfig, c.FirstDigitTimeout)
	case c.InterDigitTimeout < 0:
		return c, fmt.Errorf("%w: InterDigitTimeout %v is negative", ErrConfig, c.InterDigitTimeout)
	case c.LookupTimeout < 0:
		return c, fmt.Errorf("%w: LookupTimeout %v is negative", ErrConfig, c.LookupTimeout)
	case c.HostWaitTimeout < 0:
		return c, fmt.Errorf("%w: HostWaitTimeout %v is negative", ErrConfig, c.HostWaitTimeout)
	case c.MaxAttempts < 0:
		return c, fmt.Errorf("%w: MaxAttempts %d is negative", ErrConfig, c.MaxAttempts)
	case c.PINMaxLen < 0:
		return c, fmt.Errorf("%w: PINMaxLen %d is negative", ErrConfig, c.PINMaxLen)
	}
	return c, nil
}

// Validate reports whether c would be accepted by New, so that the gateway
// can check its configuration at start-up.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}
