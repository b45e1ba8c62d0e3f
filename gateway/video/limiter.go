package video

import "time"

// DefaultKeyframeInterval is the least time between two keyframe requests
// to one sender. A keyframe costs a room system or a browser several
// times the bits of a normal picture, so requests arriving from many
// places (every loss, every subscriber, every switch) are folded into one
// per interval; the goal of a keyframe within 500 ms of a switch
// fits it.
const DefaultKeyframeInterval = 500 * time.Millisecond

// KeyframeLimiter spaces the keyframe requests going to one sender, in
// either direction of the bridge: PLI/FIR/INFO towards a room system, or
// RequestKeyframe towards a source in the room. A request that comes too
// soon after the last one sent is not dropped but remembered, and Due
// releases it once the interval has passed, unless a keyframe arrived
// meanwhile ([KeyframeLimiter.Satisfied]). The zero value uses
// DefaultKeyframeInterval.
type KeyframeLimiter struct {
	// Interval is the least time between two requests sent.
	Interval time.Duration

	last    time.Time
	sent    bool
	pending bool
	// answered: a keyframe came after the last request sent.
	answered bool
	// Sent and Folded count requests passed on and requests merged into
	// another.
	Sent, Folded uint64
}

func (l *KeyframeLimiter) interval() time.Duration {
	if l.Interval <= 0 {
		return DefaultKeyframeInterval
	}
	return l.Interval
}

// Request records that someone wants a keyframe at now, and reports
// whether a request should go to the sender now.
func (l *KeyframeLimiter) Request(now time.Time) bool { return l.request(now, l.interval()) }

// RequestAfterKeyframe is Request for a request that does not come from
// loss at the receiver but from a receiver that is new (a subscriber
// that joined the room): once a keyframe answered the last request, it
// goes at once if at least min has passed since that request, instead of
// waiting out the interval. A new receiver can only start at a keyframe,
// and the one that answered the last request came before it could see it.
func (l *KeyframeLimiter) RequestAfterKeyframe(now time.Time, minGap time.Duration) bool {
	if l.answered {
		return l.request(now, min(minGap, l.interval()))
	}
	return l.Request(now)
}

func (l *KeyframeLimiter) request(now time.Time, gap time.Duration) bool {
	if !l.sent || now.Sub(l.last) >= gap {
		l.last, l.sent, l.pending, l.answered = now, true, false, false
		l.Sent++
		return true
	}
	if l.pending {
		l.Folded++
	}
	l.pending = true
	return false
}

// Due reports whether a remembered request should go now; it is then no
// longer remembered. Call it from the leg's timer, or before sending
// anything else.
func (l *KeyframeLimiter) Due(now time.Time) bool {
	if !l.pending || now.Sub(l.last) < l.interval() {
		return false
	}
	l.last, l.pending, l.answered = now, false, false
	l.Sent++
	return true
}

// NextDue returns when a remembered request becomes due; ok is false when
// none is remembered.
func (l *KeyframeLimiter) NextDue() (at time.Time, ok bool) {
	if !l.pending {
		return time.Time{}, false
	}
	return l.last.Add(l.interval()), true
}

// Satisfied records that a keyframe arrived: a remembered request is
// answered by it and dropped.
func (l *KeyframeLimiter) Satisfied() {
	if l.pending {
		l.Folded++
	}
	l.pending = false
	l.answered = l.sent
}
