package dtmf

import "fmt"

// historySize is how many recent events a Receiver remembers. Packets of
// an event keep coming for up to three end retransmissions after the next
// event starts (RFC 4733 §2.5.1.4), so a handful is plenty.
const historySize = 8

// Receiver turns the telephone-event packets of one RTP stream into key
// presses (RFC 4733 §2.5.2). A press is reported once, at the first packet
// of its event that arrives, whichever it is: IVRs want the digit as soon
// as the key goes down, not when it comes up, and the first packet may be
// lost. The many packets of one event share its RTP timestamp (§2.5.1.2),
// which is what identifies the event.
//
// A Receiver handles:
//   - the repeated updates and the three end retransmissions (§2.5.1.4);
//   - a new event with the same key (a new timestamp): a new press;
//   - long events: durations that wrap at 0xFFFF under one timestamp (a
//     common deviation) and the segments of §2.5.1.3, whose timestamps
//     advance without the marker bit;
//   - reordering: a late packet of a known event is a duplicate, and a late
//     packet of an event never seen is dropped (it would put its digit
//     after a later one);
//   - a timestamp jump backwards on an in-order packet (the sender behind
//     the stream changed): history is forgotten.
//
// Events 16 and above (flash and other tones) are tracked but report no
// digit.
type Receiver struct {
	clock int
	slack uint32 // timestamp units of loss tolerated at a segment boundary

	hist   [historySize]rxEvent
	used   int // entries of hist in use
	newest int // index in hist of the event with the newest timestamp

	maxSeq  uint16 // highest sequence number seen
	haveSeq bool

	stats ReceiverStats
}

// rxEvent is what a Receiver remembers of one event or segment.
type rxEvent struct {
	ts     uint32
	code   uint8
	ended  bool
	maxDur uint16
}

// ReceiverStats counts what a Receiver saw, for metrics.
type ReceiverStats struct {
	Packets   uint64 // well-formed payloads
	Malformed uint64 // payloads shorter than 4 bytes
	Presses   uint64 // digits reported
	Ignored   uint64 // events that are not DTMF (flash, ...), once per event
	Stale     uint64 // late packets of events never seen, dropped
}

// NewReceiver makes a Receiver for a telephone-event clock rate (8000 or
// 48000 in practice: the rate of the negotiated telephone-event, RFC 4733
// §2.1).
func NewReceiver(clockRate int) (*Receiver, error) {
	if clockRate < 1000 || clockRate > 192000 {
		return nil, fmt.Errorf("%w: telephone-event clock %d", ErrClockRate, clockRate)
	}
	// Half a second of packets lost around a segment boundary still
	// joins the segments.
	return &Receiver{clock: clockRate, slack: uint32(clockRate / 2)}, nil
}

// Receive handles one telephone-event payload with the RTP header fields
// of its packet. It returns the key and true when the packet starts a new
// press. A payload shorter than 4 bytes returns ErrShortPayload.
func (r *Receiver) Receive(payload []byte, timestamp uint32, seq uint16, marker bool) (key byte, ok bool, err error) {
	ev, err := ParseEvent(payload)
	if err != nil {
		r.stats.Malformed++
		return 0, false, err
	}
	r.stats.Packets++

	// Sequence numbers tell a reordered packet from a sender that moved
	// its timestamps (RFC 3550 §A.1 serial comparison).
	late := r.haveSeq && int16(seq-r.maxSeq) < 0
	if !late {
		r.maxSeq, r.haveSeq = seq, true
	}

	if e := r.find(timestamp); e != nil && e.code == ev.Code {
		// One more packet of a known event: an update, an end packet or
		// a retransmission. Durations may wrap; only growth matters.
		e.ended = e.ended || ev.End
		e.maxDur = max(e.maxDur, ev.Duration)
		return 0, false, nil
	}

	if r.used > 0 {
		newest := &r.hist[r.newest]
		if int32(timestamp-newest.ts) < 0 {
			if late {
				r.stats.Stale++
				return 0, false, nil
			}
			r.Reset()
		} else if r.continues(newest, ev, timestamp, marker) {
			// A further segment of a long event (§2.5.1.3): same press.
			r.add(rxEvent{ts: timestamp, code: ev.Code, ended: ev.End, maxDur: ev.Duration})
			return 0, false, nil
		}
	}

	r.add(rxEvent{ts: timestamp, code: ev.Code, ended: ev.End, maxDur: ev.Duration})
	key, ok = EventKey(ev.Code)
	if !ok {
		r.stats.Ignored++
		return 0, false, nil
	}
	r.stats.Presses++
	return key, true, nil
}

// continues reports whether a packet with a new timestamp is the next
// segment of the newest event: RFC 4733 §2.5.1.3 starts each segment at the
// previous segment's timestamp plus its duration (0xFFFF), with the same
// event code and no marker bit, after a previous segment that reached the
// maximum duration and did not end.
func (r *Receiver) continues(prev *rxEvent, ev Event, ts uint32, marker bool) bool {
	if marker || prev.ended || prev.code != ev.Code {
		return false
	}
	if uint32(prev.maxDur)+r.slack < 0xFFFF {
		return false
	}
	d := ts - prev.ts
	return d >= uint32(prev.maxDur) && d <= 0xFFFF+r.slack
}

// find returns the remembered event with timestamp ts, or nil.
func (r *Receiver) find(ts uint32) *rxEvent {
	for i := range r.used {
		if r.hist[i].ts == ts {
			return &r.hist[i]
		}
	}
	return nil
}

// add remembers e as the newest event, replacing the oldest one.
func (r *Receiver) add(e rxEvent) {
	if r.used < historySize {
		r.newest = r.used
		r.used++
	} else {
		r.newest = (r.newest + 1) % historySize
	}
	r.hist[r.newest] = e
}

// Reset forgets all events, for a new SSRC or a new call.
func (r *Receiver) Reset() {
	r.used, r.newest, r.haveSeq = 0, 0, false
}

// Stats returns the counters so far.
func (r *Receiver) Stats() ReceiverStats { return r.stats }
