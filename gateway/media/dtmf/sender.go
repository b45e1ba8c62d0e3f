package dtmf

import (
	"fmt"
	"time"
)

// SenderConfig sets how a Sender signals a digit. Zero fields take the
// defaults shown.
type SenderConfig struct {
	// ClockRate is the telephone-event clock negotiated in SDP (8000).
	ClockRate int
	// Ptime is the packet interval, normally the audio ptime (20 ms).
	Ptime time.Duration
	// Duration is how long the key is held (100 ms). ITU-T Q.24 receivers
	// need at least 40 ms; 100 ms is what phones send for a short press.
	Duration time.Duration
	// Volume is the tone power in -dBm0, 1..63 (10). Zero means the
	// default: 0 dBm0 is louder than any DTMF source (RFC 4733 §2.3.4).
	Volume uint8
	// EndRepeats is how many times the end packet is sent (3, the count
	// RFC 4733 §2.5.1.4 recommends so that one lost packet loses nothing).
	EndRepeats int
}

// Sender produces the RFC 4733 telephone-event packets of one digit at a
// time (§2.5.1): one per Ptime, all with the event's start timestamp, the
// first with the marker bit, each with the duration so far, and the last
// with the E bit, sent EndRepeats times. An event longer than the 16-bit
// duration field is split into segments (§2.5.1.3). The caller owns the
// RTP header (sequence numbers, SSRC) and the payload buffers.
type Sender struct {
	step       uint32 // timestamp units per packet
	total      uint32 // timestamp units of the tone
	volume     uint8
	endRepeats int

	active   bool
	code     uint8
	ts       uint32 // timestamp of the current segment
	first    bool   // the next packet is the first of the event
	elapsed  uint32 // timestamp units of the event sent so far
	segStart uint32 // elapsed at the start of the current segment
	ends     int    // end packets sent
	endDur   uint16
}

// Packet is one telephone-event packet from Sender.Next.
type Packet struct {
	Payload   []byte // 4 bytes of the caller's buffer
	Timestamp uint32 // RTP timestamp: the event's (or segment's) start
	Marker    bool   // RTP marker: first packet of the event (§2.5.1.2)
	End       bool   // the E bit is set
}

// NewSender checks cfg and fills in its defaults.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if cfg.ClockRate == 0 {
		cfg.ClockRate = 8000
	}
	if cfg.Ptime == 0 {
		cfg.Ptime = 20 * time.Millisecond
	}
	if cfg.Duration == 0 {
		cfg.Duration = 100 * time.Millisecond
	}
	if cfg.Volume == 0 {
		cfg.Volume = 10
	}
	if cfg.EndRepeats == 0 {
		cfg.EndRepeats = 3
	}
	switch {
	case cfg.ClockRate < 1000 || cfg.ClockRate > 192000:
		return nil, fmt.Errorf("%w: telephone-event clock %d", ErrClockRate, cfg.ClockRate)
	case cfg.Ptime < time.Millisecond || cfg.Ptime > time.Second:
		return nil, fmt.Errorf("%w: ptime %v", ErrConfig, cfg.Ptime)
	case cfg.Duration < 0 || cfg.Duration > time.Hour:
		return nil, fmt.Errorf("%w: duration %v", ErrConfig, cfg.Duration)
	case cfg.Volume > 63:
		return nil, fmt.Errorf("%w: volume %d", ErrConfig, cfg.Volume)
	case cfg.EndRepeats < 1 || cfg.EndRepeats > 10:
		return nil, fmt.Errorf("%w: end repeats %d", ErrConfig, cfg.EndRepeats)
	}
	ticks := func(d time.Duration) uint32 {
		return uint32(int64(d) * int64(cfg.ClockRate) / int64(time.Second))
	}
	return &Sender{
		step:       max(ticks(cfg.Ptime), 1),
		total:      max(ticks(cfg.Duration), 1),
		volume:     cfg.Volume,
		endRepeats: cfg.EndRepeats,
	}, nil
}

// Start begins the event for key at RTP timestamp ts (the timestamp the
// next audio packet would have had). An event still in progress is
// abandoned; call Next until it returns ErrIdle to finish it first.
func (s *Sender) Start(key byte, ts uint32) error {
	code, err := EventCode(key)
	if err != nil {
		return err
	}
	*s = Sender{
		step: s.step, total: s.total, volume: s.volume, endRepeats: s.endRepeats,
		active: true, code: code, ts: ts, first: true,
	}
	return nil
}

// Busy reports whether an event is in progress.
func (s *Sender) Busy() bool { return s.active }

// Next writes the next packet's payload into buf[:4] and describes it. Call
// it once per Ptime while Busy; it returns ErrIdle when the event is done.
func (s *Sender) Next(buf []byte) (Packet, error) {
	if !s.active {
		return Packet{}, ErrIdle
	}
	if len(buf) < EventSize {
		return Packet{}, ErrShortBuffer
	}
	p := Packet{Payload: buf[:EventSize], Timestamp: s.ts, End: true}
	if s.ends > 0 {
		// A retransmission of the end packet, identical to the first.
		s.ends++
		s.active = s.ends < s.endRepeats
		_, err := Event{Code: s.code, End: true, Volume: s.volume, Duration: s.endDur}.MarshalTo(buf)
		return p, err
	}

	p.Marker, s.first = s.first, false
	s.elapsed = min(s.elapsed+s.step, s.total)
	end := s.elapsed == s.total
	dur := s.elapsed - s.segStart
	if dur > 0xFFFF || (dur == 0xFFFF && !end) {
		// The segment is full: report its maximum without the E bit and
		// start the next segment where this one stops (§2.5.1.3). An end
		// that did not fit goes out in the next segment.
		p.End = false
		_, err := Event{Code: s.code, Volume: s.volume, Duration: 0xFFFF}.MarshalTo(buf)
		s.ts += 0xFFFF
		s.segStart += 0xFFFF
		return p, err
	}
	p.End = end
	if end {
		s.ends, s.endDur = 1, uint16(dur)
		s.active = s.endRepeats > 1
	}
	_, err := Event{Code: s.code, End: end, Volume: s.volume, Duration: uint16(dur)}.MarshalTo(buf)
	return p, err
}

// Stop releases the key: the next packet is the event's end (used when
// relaying a press whose length is not known in advance).
func (s *Sender) Stop() {
	if s.active && s.ends == 0 {
		s.total = s.elapsed + s.step
	}
}
