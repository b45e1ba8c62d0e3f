package ivrtest

import (
	"slices"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Unix(100, 0)
	c := NewClock(start)
	var fired []string
	at := func(name string) func() {
		return func() { fired = append(fired, name+"@"+c.Now().Sub(start).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(time.Second, at("a"))
	b := c.AfterFunc(time.Second, at("b"))
	stopped := c.AfterFunc(2*time.Second, at("never"))
	c.AfterFunc(2*time.Second, func() {
		fired = append(fired, "d@2s")
		c.AfterFunc(500*time.Millisecond, at("e")) // started by a callback, due within the advance
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop should report true once")
	}
	if c.Pending() != 4 {
		t.Errorf("Pending = %d, want 4", c.Pending())
	}
	c.Advance(2500 * time.Millisecond)
	if want := []string{"a@1s", "b@1s", "d@2s", "e@2.5s"}; !slices.Equal(fired, want) {
		t.Errorf("fired %v, want %v", fired, want)
	}
	if b.Stop() {
		t.Error("Stop after firing reported true")
	}
	if got := c.Now().Sub(start); got != 2500*time.Millisecond {
		t.Errorf("Now = start+%v", got)
	}
	c.Advance(time.Second)
	if len(fired) != 5 || fired[4] != "c@3s" || c.Pending() != 0 {
		t.Errorf("fired %v, pending %d", fired, c.Pending())
	}
}
