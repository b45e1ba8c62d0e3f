package bridge

import (
	"sync"
)

// player plays prompts to one leg: a sequence of PCM segments at the leg's
// codec rate, once or looped, mixed by the leg's clock (its own in the IVR,
// the room hub's once joined) into what the phone hears. Play and stop come
// from the call's goroutine; mixInto runs on the clock and takes the lock
// only to copy samples, never while writing to the network. The segments
// are shared, read-only slices of the prompt set.
type player struct {
	// done is called on the clock goroutine, without the lock, when the
	// prompt with that id has played to its end (not for looped ones).
	done func(id uint64)

	mu   sync.Mutex
	segs [][]int16 // what is left to play, the current segment first
	pos  int       // samples of segs[0] played
	all  [][]int16 // the whole sequence, for looping
	loop bool
	id   uint64
}

// play replaces whatever plays with segs, reporting id at its end.
func (p *player) play(id uint64, loop bool, segs ...[]int16) {
	p.mu.Lock()
	p.segs, p.all, p.pos, p.loop, p.id = segs, segs, 0, loop, id
	p.mu.Unlock()
}

// stop silences the player; nothing is reported.
func (p *player) stop() {
	p.mu.Lock()
	p.segs, p.all, p.pos, p.loop = nil, nil, 0, false
	p.mu.Unlock()
}

// mixInto adds the next len(dst) samples to dst, saturating, and reports
// whether anything was added.
func (p *player) mixInto(dst []int16) bool {
	p.mu.Lock()
	if len(p.segs) == 0 {
		p.mu.Unlock()
		return false
	}
	n := 0
	for n < len(dst) && len(p.segs) > 0 {
		seg := p.segs[0]
		k := min(len(seg)-p.pos, len(dst)-n)
		for i, s := range seg[p.pos : p.pos+k] {
			dst[n+i] = addSat(dst[n+i], s)
		}
		n += k
		p.pos += k
		if p.pos == len(seg) {
			p.segs, p.pos = p.segs[1:], 0
			if len(p.segs) == 0 && p.loop && totalLen(p.all) > 0 {
				p.segs = p.all
			}
		}
	}
	ended := len(p.segs) == 0
	id := p.id
	p.mu.Unlock()
	if ended && p.done != nil {
		p.done(id)
	}
	return true
}

func totalLen(segs [][]int16) int {
	n := 0
	for _, s := range segs {
		n += len(s)
	}
	return n
}

// addSat adds two samples, clipping at the 16-bit limits.
func addSat(a, b int16) int16 {
	s := int32(a) + int32(b)
	switch {
	case s > 32767:
		return 32767
	case s < -32768:
		return -32768
	}
	return int16(s)
}
