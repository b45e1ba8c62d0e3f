package jitter

// Status says what Pop produced.
type Status uint8

const (
	// StatusUnknown is the zero value; Pop never returns it.
	StatusUnknown Status = iota
	// StatusIdle: nothing to play (before the first packet, while
	// building up the delay, or after the stream stopped). Play silence
	// or comfort noise.
	StatusIdle
	// StatusFrame: dst holds the next frame's payload.
	StatusFrame
	// StatusLost: a frame is due but missing (lost, or not yet arrived
	// during an underrun). Conceal it.
	StatusLost
)

// String names the status.
func (s Status) String() string {
	switch s {
	case StatusIdle:
		return "idle"
	case StatusFrame:
		return "frame"
	case StatusLost:
		return "lost"
	}
	return "unknown"
}
