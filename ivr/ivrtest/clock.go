// Package ivrtest provides test helpers for code that drives an ivr.Session:
// a fake clock whose time moves only when the test says so.
package ivrtest

import (
	"sort"
	"sync"
	"time"

	"github.com/roombridge/roombridge/ivr"
)

// Clock is a fake ivr.Clock. AfterFunc callbacks run synchronously inside
// Advance, in deadline order, with no lock of the clock held.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*timer
}

type timer struct {
	c    *Clock
	when time.Time
	seq  uint64 // orders timers with the same deadline
	f    func()
}

// NewClock returns a fake clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc registers f to run when Advance passes now+d.
func (c *Clock) AfterFunc(d time.Duration, f func()) ivr.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{c: c, when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop removes the timer if it has not fired.
func (t *timer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves the time forward by d, firing every timer that falls due
// on the way, each with the clock set to its deadline. Timers that the
// callbacks start are fired too if they fall due within d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			return a.when.Before(b.when) || a.when.Equal(b.when) && a.seq < b.seq
		})
		if len(c.timers) == 0 || c.timers[0].when.After(end) {
			c.now = end
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		c.now = t.when
		c.mu.Unlock()
		t.f()
	}
}

// Pending is how many timers are waiting to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

var _ ivr.Clock = (*Clock)(nil)
