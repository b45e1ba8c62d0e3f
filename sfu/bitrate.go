package sfu

import (
	"sync"
	"time"
)

// capInterval is the least time between two bit-rate caps given to one
// source: a room system's TMMBR or a browser's REMB may change several
// times a second, an encoder needs one value per round trip or so.
const capInterval = 500 * time.Millisecond

// uncappedREMB is the REMB a WebRTC publisher is sent when the last cap
// on its track goes: REMB has no "no limit", so a rate no camera reaches
// stands for it.
const uncappedREMB = 1_000_000_000

// bitrateCaps gathers the bit-rate limits a video track's receivers set
// (a room system's leg through VideoBitrateCapper, a browser's REMB for
// a track a SIP leg publishes) and gives the source the least of them,
// at most once per capInterval (a change that comes sooner is given when
// due) and again whenever it changes. A receiver's limit goes when it
// unsubscribes or leaves.
type bitrateCaps struct {
	// apply gives the source a limit in bit/s, 0 for none; it is called
	// with no lock held, one call at a time per track in practice
	// (capInterval apart).
	apply func(bitrate uint64)
	now   func() time.Time

	mu      sync.Mutex
	caps    map[subscriber]uint64
	sent    uint64 // the limit last given, 0 for none
	sentAt  time.Time
	timer   *time.Timer
	stopped bool
	// given counts the limits passed to apply.
	given uint64
}

func newBitrateCaps(apply func(uint64)) *bitrateCaps {
	return &bitrateCaps{apply: apply, now: time.Now, caps: map[subscriber]uint64{}}
}

// set records s's limit (0 removes it) and passes the new least limit on
// if due.
func (c *bitrateCaps) set(s subscriber, bitrate uint64) {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	if bitrate == 0 {
		delete(c.caps, s)
	} else {
		c.caps[s] = bitrate
	}
	c.mu.Unlock()
	c.update()
}

// remove drops s's limit, if it set one.
func (c *bitrateCaps) remove(s subscriber) {
	c.mu.Lock()
	_, had := c.caps[s]
	c.mu.Unlock()
	if had {
		c.set(s, 0)
	}
}

// least is the smallest limit set, 0 when none is. c.mu is held.
func (c *bitrateCaps) least() uint64 {
	var m uint64
	for _, b := range c.caps {
		if m == 0 || b < m {
			m = b
		}
	}
	return m
}

// update gives the source the least limit now, or arms the timer for
// when it is due.
func (c *bitrateCaps) update() {
	c.mu.Lock()
	want := c.least()
	if c.stopped || want == c.sent {
		c.mu.Unlock()
		return
	}
	now := c.now()
	if wait := capInterval - now.Sub(c.sentAt); !c.sentAt.IsZero() && wait > 0 {
		if c.timer == nil {
			c.timer = time.AfterFunc(wait, c.due)
		}
		c.mu.Unlock()
		return
	}
	c.sent, c.sentAt = want, now
	c.given++
	c.mu.Unlock()
	c.apply(want)
}

func (c *bitrateCaps) due() {
	c.mu.Lock()
	c.timer = nil
	c.mu.Unlock()
	c.update()
}

// stop ends the caps with the track: nothing more is given.
func (c *bitrateCaps) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}
