package jitter

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Config sizes a Buffer. Zero fields take the defaults in brackets.
type Config struct {
	ClockRate     int           // RTP clock rate in Hz [8000; G.722 also uses 8000]
	FrameDuration time.Duration // audio per packet and per Pop [20 ms]
	MinDelay      time.Duration // lowest target delay [20 ms]
	MaxDelay      time.Duration // highest target delay [120 ms]
	MaxPayload    int           // bytes per packet [1500]
	// Slots is the ring size in packets [64]; it bounds how far ahead of
	// the playout point a packet may be and must cover MaxDelay.
	Slots int
}

func (c *Config) defaults() error {
	if c.ClockRate == 0 {
		c.ClockRate = 8000
	}
	if c.FrameDuration == 0 {
		c.FrameDuration = 20 * time.Millisecond
	}
	if c.MinDelay == 0 {
		c.MinDelay = 20 * time.Millisecond
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = 120 * time.Millisecond
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = 1500
	}
	if c.Slots == 0 {
		c.Slots = 64
	}
	switch {
	case c.ClockRate < 0 || c.FrameDuration < time.Millisecond || c.MaxPayload < 0:
		return fmt.Errorf("%w: clock %d Hz, frame %v, payload %d", ErrBadConfig, c.ClockRate, c.FrameDuration, c.MaxPayload)
	case c.MinDelay < 0 || c.MaxDelay < c.MinDelay:
		return fmt.Errorf("%w: delay %v..%v", ErrBadConfig, c.MinDelay, c.MaxDelay)
	case c.Slots < 2*int(c.MaxDelay/c.FrameDuration)+4:
		return fmt.Errorf("%w: %d slots cannot hold %v of %v frames", ErrBadConfig, c.Slots, c.MaxDelay, c.FrameDuration)
	}
	return nil
}

// Stats are counters since New (Reset keeps them).
type Stats struct {
	Received   uint64 // packets accepted into the ring
	Played     uint64 // frames returned by Pop
	Lost       uint64 // frames skipped as missing (StatusLost with a later packet present)
	Underruns  uint64 // Pops that found the buffer empty mid-stream (StatusLost, playout held)
	Late       uint64 // packets that arrived after their playout time
	Duplicates uint64 // packets already buffered or played
	Reordered  uint64 // packets that arrived after a higher sequence number
	Dropped    uint64 // frames discarded to shrink the delay or on overflow
	Stretched  uint64 // Pops that held a frame back to grow the delay (StatusLost)
	Resyncs    uint64 // stream restarts (sequence/timestamp jump, Reset)

	Jitter       time.Duration // RFC 3550 interarrival jitter estimate
	TargetDelay  time.Duration // current target playout delay
	CurrentDelay time.Duration // audio buffered ahead of the playout point
}

// Frame describes what Pop produced.
type Frame struct {
	Status Status
	N      int    // payload bytes copied to dst (StatusFrame)
	Seq    uint16 // sequence number of the frame played or lost
	TS     uint32 // its RTP timestamp (StatusFrame)
}

const (
	slotEmpty uint8 = iota
	slotFilled
	slotPlayed
)

type slot struct {
	ext   int64 // extended sequence number
	ts    uint32
	n     int
	state uint8
	data  []byte // cap MaxPayload, in the shared arena
}

// Stray packets far from the stream are held as a resync candidate; the
// stream restarts when the next packet follows the candidate.
const maxSeqJump = 100

// Buffer is an adaptive jitter buffer for one RTP stream (one SSRC). One
// goroutine may Push while another Pops.
type Buffer struct {
	cfg     Config
	frameTS int64 // RTP timestamp units per frame
	mu      sync.Mutex
	slots   []slot

	have     bool  // any packet since New/Reset/resync
	highest  int64 // highest extended sequence number stored
	highTS   uint32
	buffered int // filled slots

	started  bool  // playing (else building up the delay)
	next     int64 // extended sequence number due at the next Pop
	floor    int64 // packets below this are late
	waited   int   // Pops spent building up the delay
	empty    int   // consecutive Pops that found nothing
	sinceAdj int   // Pops since the last drop or stretch

	candidate    uint16 // resync candidate sequence number
	hasCandidate bool

	// RFC 3550 A.8 jitter, in seconds.
	epoch       time.Time
	prevTransit float64
	hasTransit  bool
	jitter      float64
	tsExt       int64
	lastTS      uint32

	stats Stats
}

// New makes a buffer and its payload ring.
func New(cfg Config) (*Buffer, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	b := &Buffer{
		cfg:     cfg,
		frameTS: int64(cfg.ClockRate) * int64(cfg.FrameDuration) / int64(time.Second),
		slots:   make([]slot, cfg.Slots),
	}
	if b.frameTS <= 0 {
		return nil, fmt.Errorf("%w: frame of %v is no RTP time at %d Hz", ErrBadConfig, cfg.FrameDuration, cfg.ClockRate)
	}
	arena := make([]byte, cfg.Slots*cfg.MaxPayload)
	for i := range b.slots {
		b.slots[i].data = arena[i*cfg.MaxPayload : (i+1)*cfg.MaxPayload : (i+1)*cfg.MaxPayload]
	}
	b.stats.TargetDelay = b.target()
	return b, nil
}

// Reset forgets the stream (keeping the statistics and the jitter
// estimate): call it when the SSRC changes.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.restart()
}

func (b *Buffer) restart() {
	for i := range b.slots {
		b.slots[i].state = slotEmpty
	}
	b.have, b.started, b.hasCandidate, b.hasTransit = false, false, false, false
	b.buffered, b.waited, b.empty = 0, 0, 0
	b.stats.Resyncs++
}

func (b *Buffer) slot(ext int64) *slot {
	return &b.slots[uint64(ext)%uint64(len(b.slots))]
}

// target is the playout delay aimed for: MinDelay + 3·J to the nearest
// whole frame, within [MinDelay, MaxDelay].
func (b *Buffer) target() time.Duration {
	t := b.cfg.MinDelay + time.Duration(3*b.jitter*float64(time.Second))
	f := b.cfg.FrameDuration
	t = (t + f/2) / f * f
	return min(max(t, b.cfg.MinDelay), b.cfg.MaxDelay)
}

func (b *Buffer) targetFrames() int { return max(1, int(b.target()/b.cfg.FrameDuration)) }

// depth is the number of frames from the playout point to the newest
// packet, counting gaps.
func (b *Buffer) depth() int {
	if b.buffered == 0 || b.highest < b.next {
		return 0
	}
	return int(b.highest - b.next + 1)
}

// Push stores one packet that arrived at arrival. Late, duplicate and stray
// packets are counted and dropped without error.
func (b *Buffer) Push(seq uint16, ts uint32, payload []byte, arrival time.Time) error {
	if len(payload) > b.cfg.MaxPayload {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(payload))
	}
	b.mu.Lock()
	defer b.mu.Unlock()

	if !b.have {
		b.begin(seq, ts)
	}
	ext := b.highest + int64(int16(seq-uint16(b.highest)))
	dseq := ext - b.highest
	if dseq > maxSeqJump || dseq < -maxSeqJump || b.tsBroken(dseq, ts) {
		// A stray packet, or the first of a new stream: restart when a
		// second one follows it.
		if b.hasCandidate && seq == b.candidate+1 {
			b.restart()
			b.begin(seq, ts)
			ext = b.highest
		} else {
			b.candidate, b.hasCandidate = seq, true
			return nil
		}
	}
	b.hasCandidate = false
	b.measure(ts, arrival)

	if ext < b.floor || b.highest-ext >= int64(len(b.slots)) {
		if s := b.slot(ext); s.ext == ext && s.state != slotEmpty {
			b.stats.Duplicates++
		} else {
			b.stats.Late++
		}
		return nil
	}
	s := b.slot(ext)
	if s.ext == ext && s.state != slotEmpty {
		b.stats.Duplicates++
		return nil
	}
	if ext >= b.next+int64(len(b.slots)) {
		// Far ahead of the playout point: drop the oldest frames.
		for b.next <= ext-int64(len(b.slots)) {
			b.discard(b.next)
			b.advance()
		}
	}
	if !b.started && (b.buffered == 0 || ext < b.next) {
		b.next = ext // the first packet, or an earlier one, of a talkspurt
	}
	if s.state == slotFilled { // an old frame still occupies the slot
		b.buffered--
		b.stats.Dropped++
	}

	if ext > b.highest {
		gap := int64(int32(ts-b.highTS)) - (ext-b.highest)*b.frameTS
		if gap > b.frameTS && b.started && b.buffered == 0 {
			// New talkspurt after the sender paused, and nothing left to
			// play: rebuild the delay to the (maybe new) target.
			b.started, b.waited, b.next = false, 0, ext
		}
		b.highest, b.highTS = ext, ts
	} else if ext < b.highest {
		b.stats.Reordered++
	}
	*s = slot{ext: ext, ts: ts, n: copy(s.data[:len(payload)], payload), state: slotFilled, data: s.data}
	b.buffered++
	b.stats.Received++
	return nil
}

// begin starts a stream at seq.
func (b *Buffer) begin(seq uint16, ts uint32) {
	// Extended numbers start high enough never to go negative.
	ext := int64(1<<32) + int64(seq)
	b.have, b.highest, b.highTS, b.next = true, ext, ts, ext
	// Allow the first packets to arrive a little out of order.
	b.floor = ext - int64(len(b.slots)/2)
	b.tsExt, b.lastTS = int64(ts), ts
}

// tsBroken reports a timestamp that cannot belong to the stream: more than
// a second behind what the sequence number implies.
func (b *Buffer) tsBroken(dseq int64, ts uint32) bool {
	want := int64(b.highTS) + dseq*b.frameTS
	off := int64(int32(ts - uint32(want)))
	return off < -int64(b.cfg.ClockRate)
}

// measure updates the RFC 3550 §6.4.1 interarrival jitter:
// D = (R_j − R_i) − (S_j − S_i), J += (|D| − J)/16.
func (b *Buffer) measure(ts uint32, arrival time.Time) {
	b.tsExt += int64(int32(ts - b.lastTS))
	b.lastTS = ts
	if b.epoch.IsZero() {
		b.epoch = arrival
	}
	transit := arrival.Sub(b.epoch).Seconds() - float64(b.tsExt)/float64(b.cfg.ClockRate)
	if b.hasTransit {
		d := math.Abs(transit - b.prevTransit)
		b.jitter += (d - b.jitter) / 16
	}
	b.prevTransit, b.hasTransit = transit, true
}

func (b *Buffer) discard(ext int64) {
	if s := b.slot(ext); s.ext == ext && s.state == slotFilled {
		s.state = slotEmpty
		b.buffered--
		b.stats.Dropped++
	}
}

// Pop is called once per FrameDuration by the leg's clock. It copies the
// next frame into dst (which should hold MaxPayload bytes; a longer payload
// is truncated) or says why there is none.
func (b *Buffer) Pop(dst []byte) Frame {
	b.mu.Lock()
	defer b.mu.Unlock()
	target := b.targetFrames()

	if !b.started {
		if b.buffered == 0 {
			return Frame{Status: StatusIdle}
		}
		b.waited++
		if b.waited < target && b.depth() <= target {
			return Frame{Status: StatusIdle}
		}
		b.started, b.empty, b.sinceAdj = true, 0, 0
	}
	b.sinceAdj++

	// Shrink: more than two frames above target, at most every 100 ms.
	if s := b.slot(b.next); s.ext == b.next && s.state == slotFilled && b.depth() > target+2 && b.sinceAdj >= 5 {
		b.discard(b.next)
		b.advance()
		b.sinceAdj = 0
	}

	seq := uint16(b.next)
	s := b.slot(b.next)
	switch {
	case s.ext == b.next && s.state == slotFilled:
		// Grow: well short of the target after the jitter rose;
		// at most every 100 ms, hold this frame one tick longer.
		if b.depth()+1 < target && b.sinceAdj >= 5 {
			b.sinceAdj = 0
			b.stats.Stretched++
			return Frame{Status: StatusLost, Seq: seq}
		}
		n := copy(dst, s.data[:s.n])
		s.state = slotPlayed
		b.buffered--
		b.advance()
		b.empty = 0
		b.stats.Played++
		return Frame{Status: StatusFrame, N: n, Seq: seq, TS: s.ts}
	case b.buffered > 0:
		// Missing, with later frames waiting: lost.
		b.advance()
		b.empty = 0
		b.stats.Lost++
		return Frame{Status: StatusLost, Seq: seq}
	}
	// Nothing buffered: hold the playout point so that a late burst still
	// plays; after MaxDelay of nothing, the stream has stopped.
	b.empty++
	if time.Duration(b.empty)*b.cfg.FrameDuration > b.cfg.MaxDelay {
		b.started, b.waited = false, 0
		return Frame{Status: StatusIdle}
	}
	b.stats.Underruns++
	return Frame{Status: StatusLost, Seq: seq}
}

// Peek copies the payload of packet seq into dst when it is buffered and
// not yet played, and returns its length (0 when it is not there). After a
// lost frame, the packet that follows it may carry a copy of the lost one
// (Opus in-band FEC, RFC 6716 §2.1.7): Peek(dst, lost.Seq+1) finds it
// without taking it out of turn.
func (b *Buffer) Peek(dst []byte, seq uint16) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.have {
		return 0
	}
	// The extended number of seq nearest to the playout point.
	ext := b.next + int64(int16(seq-uint16(b.next)))
	if s := b.slot(ext); s.ext == ext && s.state == slotFilled {
		return copy(dst, s.data[:s.n])
	}
	return 0
}

// advance moves the playout point past the frame due now.
func (b *Buffer) advance() {
	b.next++
	b.floor = b.next
}

// Stats returns the counters and the current delay figures.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	st.Jitter = time.Duration(b.jitter * float64(time.Second))
	st.TargetDelay = b.target()
	st.CurrentDelay = time.Duration(b.depth()) * b.cfg.FrameDuration
	return st
}
