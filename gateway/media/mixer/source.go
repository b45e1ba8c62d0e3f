package mixer

import (
	"fmt"
	"math"
	"sync"
)

// Source is one stream entering the room.
type Source struct {
	id    string
	frame int

	mu         sync.Mutex // guards pending, energy, hasPending and frame (written on the clock)
	pending    []int16
	energy     int64
	hasPending bool
	overwrites uint64

	// Owned by the clock goroutine.
	cur         []int16
	curEnergy   int64
	score       float64
	slot        int  // index in this tick's speakers, or −1
	wasSelected bool // was a speaker in the previous tick
}

// ID is the label given to AddSource.
func (s *Source) ID() string { return s.id }

// Level is the RMS level in dBov of the frame the source contributed to the
// last tick (−127 if none), for active-speaker reports and RFC 6464 audio
// levels. Call it from the clock goroutine.
func (s *Source) Level() float64 {
	if s.curEnergy == 0 {
		return -127
	}
	return max(10*math.Log10(float64(s.curEnergy)/float64(s.frame)/(32768*32768)), -127)
}

// Write submits this tick's frame (Config.FrameSamples samples). It copies
// pcm and measures its energy for speaker selection. A second Write before
// the next Tick replaces the first.
func (s *Source) Write(pcm []int16) error {
	var e int64
	for _, v := range pcm {
		e += int64(v) * int64(v)
	}
	s.mu.Lock()
	if len(pcm) != s.frame {
		n := s.frame
		s.mu.Unlock()
		return fmt.Errorf("%w: %d samples, want %d", ErrFrameSize, len(pcm), n)
	}
	copy(s.pending, pcm)
	if s.hasPending {
		s.overwrites++
	}
	s.energy, s.hasPending = e, true
	s.mu.Unlock()
	return nil
}

// resize makes the source take frames of n samples, dropping a pending one.
func (s *Source) resize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frame = n
	s.pending, s.cur = resize(s.pending, n), resize(s.cur, n)
	s.hasPending, s.energy, s.curEnergy = false, 0, 0
}

// Overwrites counts frames replaced before a Tick took them: the source
// runs faster than the hub's clock.
func (s *Source) Overwrites() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overwrites
}

// collect swaps the pending frame in for this tick; false if the source
// wrote nothing or only silence.
func (s *Source) collect() bool {
	s.mu.Lock()
	has := s.hasPending
	s.curEnergy = 0
	if has {
		s.pending, s.cur = s.cur, s.pending
		s.curEnergy = s.energy
		s.hasPending = false
	}
	s.mu.Unlock()
	return has && s.curEnergy > 0
}

// Listener is one output of the room.
type Listener struct {
	hub *Hub
	own *Source
}

// Read copies this tick's mix for the listener into dst (the room without
// the listener's own source) and returns the samples written, at most
// Config.FrameSamples. Call it from the clock goroutine after Tick.
func (l *Listener) Read(dst []int16) int {
	if l.own != nil && l.own.slot >= 0 {
		return copy(dst, l.hub.minus[l.own.slot])
	}
	return copy(dst, l.hub.all)
}

// Own is the listener's own source, or nil.
func (l *Listener) Own() *Source { return l.own }
