package caller

import "encoding/binary"

// dtmfEvent maps a digit to its RFC 4733 event code (§3.2).
func dtmfEvent(r rune) (uint8, bool) {
	switch {
	case r >= '0' && r <= '9':
		return uint8(r - '0'), true
	case r == '*':
		return 10, true
	case r == '#':
		return 11, true
	case r >= 'A' && r <= 'D':
		return uint8(12 + r - 'A'), true
	case r >= 'a' && r <= 'd':
		return uint8(12 + r - 'a'), true
	}
	return 0, false
}

// eventDigit maps an RFC 4733 event code back to its digit.
func eventDigit(e uint8) (rune, bool) {
	const digits = "0123456789*#ABCD"
	if int(e) < len(digits) {
		return rune(digits[e]), true
	}
	return 0, false
}

// dtmfVolume is the power level of our events: -10 dBm0 (RFC 4733 §2.3.4).
const dtmfVolume = 10

// endRepeats is how many times the final packet of an event is sent
// (RFC 4733 §2.5.1.4: the end packet is retransmitted, three in all is usual).
const endRepeats = 3

// dtmfSender produces RFC 4733 telephone-event payloads, one per 20 ms
// tick: the event's packets share the timestamp of its start, the first
// carries the marker bit, each carries the duration so far, and the last
// has the E bit and is sent endRepeats times (RFC 4733 §2.5.1).
type dtmfSender struct {
	events     []uint8
	i          int
	startTick  int // first tick of the next event; <0 until scheduled
	digitTicks int
	gapTicks   int
	frameTS    uint32 // RTP clock units per tick
	sending    bool
	evTS       uint32
	k          int // packets of the current event so far
	ends       int // end packets sent
	payload    [4]byte
	sentDigits []rune
}

func newDTMFSender(digits string, digitTicks, gapTicks int, frameTS uint32) *dtmfSender {
	d := &dtmfSender{startTick: -1, digitTicks: max(digitTicks, 1), gapTicks: gapTicks, frameTS: frameTS}
	for _, r := range digits {
		e, _ := dtmfEvent(r)
		d.events = append(d.events, e)
	}
	return d
}

// schedule sets the tick at which the first digit starts, once.
func (d *dtmfSender) schedule(tick int) {
	if d.startTick < 0 {
		d.startTick = tick
	}
}

func (d *dtmfSender) done() bool { return d.i >= len(d.events) }

// next returns the telephone-event payload to send at tick, if any, with
// its timestamp and marker. ts is the audio timestamp of this tick.
func (d *dtmfSender) next(tick int, ts uint32) (payload []byte, evTS uint32, marker, ok bool) {
	if d.done() || d.startTick < 0 || tick < d.startTick {
		return nil, 0, false, false
	}
	if !d.sending {
		d.sending, d.evTS, d.k, d.ends = true, ts, 0, 0
	}
	end := false
	if d.k < d.digitTicks {
		d.k++
		end = d.k == d.digitTicks
		if end {
			d.ends = 1
		}
	} else {
		d.ends++
		end = true
	}
	dur := uint32(d.k) * d.frameTS
	d.payload[0] = d.events[d.i]
	d.payload[1] = dtmfVolume & 0x3f
	if end {
		d.payload[1] |= 0x80
	}
	binary.BigEndian.PutUint16(d.payload[2:], uint16(min(dur, 0xffff)))
	marker = d.k == 1 && d.ends == 0
	evTS = d.evTS
	if end && d.ends >= endRepeats {
		r, _ := eventDigit(d.events[d.i])
		d.sentDigits = append(d.sentDigits, r)
		d.i++
		d.sending = false
		d.startTick = tick + 1 + d.gapTicks
	}
	return d.payload[:], evTS, marker, true
}

// dtmfReceiver collects digits from telephone-event packets: one digit per
// event (timestamp), when its end bit first arrives.
type dtmfReceiver struct {
	lastTS uint32
	haveTS bool
	digits []rune
}

func (r *dtmfReceiver) handle(ts uint32, payload []byte) {
	if len(payload) < 4 || payload[1]&0x80 == 0 {
		return
	}
	if r.haveTS && ts == r.lastTS {
		return // a retransmitted end packet
	}
	r.lastTS, r.haveTS = ts, true
	if d, ok := eventDigit(payload[0]); ok {
		r.digits = append(r.digits, d)
	}
}
