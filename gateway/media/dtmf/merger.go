package dtmf

import (
	"fmt"
	"time"
)

// Digit is one key press from one source.
type Digit struct {
	Key    byte      // 0-9, *, #, A-D
	Source Source    // where it came from
	At     time.Time // when it arrived (its first packet, INFO or detection)
}

// MergerConfig tunes a Merger. Zero fields take the defaults shown.
type MergerConfig struct {
	// Window is how far apart two sources' copies of one press may arrive
	// (300 ms): in-band detection lags RFC 4733 by the jitter buffer and
	// 40 ms of tone, and INFO crosses proxies. It is also how long a digit
	// from a source other than the preferred one waits for its copy.
	Window time.Duration
	// SwitchAfter is how many digits in a row the preferred source must
	// miss, and another deliver, before that other source becomes the
	// preferred one (2).
	SwitchAfter int
}

// Merger merges the digits of one call's sources into one ordered stream
// in which each press appears once, even when a trunk signals it two or
// three ways (RFC 4733 and in-band tones left in the audio, INFO and
// RFC 4733 from some gateways).
//
// The policy:
//   - The first source to deliver a digit becomes the preferred source; its
//     digits pass at once, with no added latency.
//   - A digit from another source that matches a digit already passed
//     (same key, another source, within Window) is a copy and is dropped.
//     Matching is one to one, so a key pressed twice quickly (100 ms or
//     more apart) is two presses on every source and passes twice.
//   - Any other digit from another source waits up to Window for the
//     preferred source's copy. If the copy comes, the waiting digit is
//     dropped; if the preferred source passes a different key first (it
//     skipped this press) or Window runs out, the waiting digit passes,
//     ahead of anything later, as a fallback; a copy from the preferred
//     source that comes within Window after that is still dropped.
//   - After SwitchAfter fallbacks in a row from one source, that source
//     becomes the preferred one: the trunk stopped sending the other way
//     (a transfer, a re-INVITE without telephone-event).
//
// Push takes digits as they come; Flush releases waiting digits whose
// time is up, at the Deadline the caller arms a timer for.
type Merger struct {
	window      time.Duration
	switchAfter int

	preferred Source
	recent    ring // digits passed, for matching copies
	waiting   ring // digits from other sources waiting for the preferred copy
	runSource Source
	run       int // fallbacks in a row from runSource

	stats Stats
}

// Stats counts a Merger's digits per source, for metrics.
type Stats struct {
	RFC4733, INFO, Inband SourceStats
	Preferred             Source // the current preferred source
	Switches              uint64 // changes of the preferred source after the first
}

// SourceStats counts one source's digits.
type SourceStats struct {
	Received   uint64 // digits pushed
	Delivered  uint64 // digits passed on, fallbacks included
	Duplicates uint64 // copies of a press another source delivered
	Fallbacks  uint64 // digits passed because the preferred source missed them
}

// Source returns the counters of src.
func (s *Stats) Source(src Source) *SourceStats {
	switch src {
	case SourceRFC4733:
		return &s.RFC4733
	case SourceINFO:
		return &s.INFO
	case SourceInband:
		return &s.Inband
	}
	return &SourceStats{}
}

// NewMerger makes a Merger.
func NewMerger(cfg MergerConfig) (*Merger, error) {
	if cfg.Window == 0 {
		cfg.Window = 300 * time.Millisecond
	}
	if cfg.SwitchAfter == 0 {
		cfg.SwitchAfter = 2
	}
	if cfg.Window < 0 || cfg.SwitchAfter < 0 {
		return nil, fmt.Errorf("%w: %+v", ErrConfig, cfg)
	}
	return &Merger{window: cfg.Window, switchAfter: cfg.SwitchAfter}, nil
}

// Push takes a digit and appends to dst the digits that pass now: none,
// d, or waiting digits followed by d. Keys a-d are taken as A-D.
func (m *Merger) Push(dst []Digit, d Digit) ([]Digit, error) {
	code, err := EventCode(d.Key)
	if err != nil {
		return dst, err
	}
	if d.Source == SourceUnknown || d.Source >= numSources {
		return dst, fmt.Errorf("%w: source %d", ErrConfig, d.Source)
	}
	d.Key = digits[code]
	m.stats.Source(d.Source).Received++

	if m.claim(&m.recent, d) {
		m.stats.Source(d.Source).Duplicates++
		return dst, nil
	}
	if m.preferred == SourceUnknown {
		m.preferred = d.Source
		m.stats.Preferred = d.Source
	}
	if d.Source != m.preferred {
		if m.claim(&m.waiting, d) {
			// The third source's copy of a waiting digit.
			m.stats.Source(d.Source).Duplicates++
			return dst, nil
		}
		if m.waiting.full() {
			dst = m.fallback(dst, d.At)
		}
		m.waiting.push(entry{Digit: d, claimed: d.Source.bit(), seen: d.At})
		return dst, nil
	}

	// The preferred source is in order: a waiting digit that is not this
	// one's copy is a press it skipped.
	claimed := d.Source.bit()
	for m.waiting.len() > 0 {
		w := m.waiting.at(0)
		if w.Key == d.Key && within(w.At, d.At, m.window) {
			m.stats.Source(w.Source).Duplicates++
			claimed |= w.claimed
			m.waiting.pop()
			break
		}
		dst = m.fallback(dst, d.At)
	}
	m.run = 0
	return m.deliver(dst, entry{Digit: d, claimed: claimed, seen: d.At}), nil
}

// Flush appends to dst the waiting digits whose Window has run out at now.
func (m *Merger) Flush(dst []Digit, now time.Time) []Digit {
	for m.waiting.len() > 0 && !now.Before(m.waiting.at(0).At.Add(m.window)) {
		dst = m.fallback(dst, now)
	}
	return dst
}

// Deadline returns when the oldest waiting digit's Window runs out: the
// time to call Flush. ok is false when nothing waits.
func (m *Merger) Deadline() (t time.Time, ok bool) {
	if m.waiting.len() == 0 {
		return time.Time{}, false
	}
	return m.waiting.at(0).At.Add(m.window), true
}

// Stats returns the counters so far.
func (m *Merger) Stats() Stats { return m.stats }

// claim reports whether d is a copy of a digit in r from another source
// that d's source has not matched yet, and marks that match.
func (m *Merger) claim(r *ring, d Digit) bool {
	for i := range r.len() {
		e := r.at(i)
		if e.Key == d.Key && e.claimed&d.Source.bit() == 0 && within(e.seen, d.At, m.window) {
			e.claimed |= d.Source.bit()
			return true
		}
	}
	return false
}

// fallback passes the oldest waiting digit at now, and makes its source the
// preferred one after SwitchAfter fallbacks in a row. The digit is matched
// from now on: the preferred source's copy, if it was only late, may come
// up to Window after the fallback.
func (m *Merger) fallback(dst []Digit, now time.Time) []Digit {
	w := *m.waiting.at(0)
	m.waiting.pop()
	w.seen = now
	m.stats.Source(w.Source).Fallbacks++
	dst = m.deliver(dst, w)
	if w.Source != m.runSource {
		m.runSource, m.run = w.Source, 0
	}
	m.run++
	if m.run >= m.switchAfter && w.Source != m.preferred {
		m.preferred, m.run = w.Source, 0
		m.stats.Preferred = w.Source
		m.stats.Switches++
		// Whatever still waits is older than what comes next.
		for m.waiting.len() > 0 {
			e := *m.waiting.at(0)
			m.waiting.pop()
			e.seen = now
			m.stats.Source(e.Source).Fallbacks++
			dst = m.deliver(dst, e)
		}
	}
	return dst
}

// deliver passes e and remembers it for matching copies.
func (m *Merger) deliver(dst []Digit, e entry) []Digit {
	m.stats.Source(e.Source).Delivered++
	if m.recent.full() {
		m.recent.pop()
	}
	m.recent.push(e)
	return append(dst, e.Digit)
}

// within reports whether a and b are at most w apart.
func within(a, b time.Time, w time.Duration) bool {
	d := a.Sub(b)
	return d <= w && d >= -w
}

func (s Source) bit() uint8 { return 1 << s }

// entry is a digit and the sources whose copy of it has been seen.
type entry struct {
	Digit
	claimed uint8     // Source.bit of each
	seen    time.Time // when it passed, or arrived if waiting: copies match within Window of it
}

// ring is a small FIFO of entries, fixed in size so that the merger does
// not allocate.
type ring struct {
	e          [8]entry
	head, size int
}

func (r *ring) len() int        { return r.size }
func (r *ring) full() bool      { return r.size == len(r.e) }
func (r *ring) at(i int) *entry { return &r.e[(r.head+i)%len(r.e)] }
func (r *ring) push(e entry)    { r.e[(r.head+r.size)%len(r.e)] = e; r.size++ }
func (r *ring) pop()            { r.head = (r.head + 1) % len(r.e); r.size-- }
