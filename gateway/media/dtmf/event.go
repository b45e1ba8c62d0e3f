package dtmf

import (
	"encoding/binary"
	"fmt"
)

// digits maps RFC 4733 event codes 0-15 to their keys (RFC 4733 §3.2,
// Table 7): the sixteen DTMF events. Codes above 15 (flash is 16) are other
// telephony events that carry no digit.
const digits = "0123456789*#ABCD"

// EventCode returns the RFC 4733 §3.2 event code of a DTMF key. Lower-case
// a-d are accepted because SIP INFO bodies use them.
func EventCode(key byte) (uint8, error) {
	switch {
	case key >= '0' && key <= '9':
		return key - '0', nil
	case key == '*':
		return 10, nil
	case key == '#':
		return 11, nil
	case key >= 'A' && key <= 'D':
		return 12 + key - 'A', nil
	case key >= 'a' && key <= 'd':
		return 12 + key - 'a', nil
	}
	return 0, fmt.Errorf("%w: %q", ErrNotDigit, key)
}

// EventKey returns the key of a DTMF event code, and false for codes that
// are not DTMF (RFC 4733 §3.2).
func EventKey(code uint8) (byte, bool) {
	if int(code) < len(digits) {
		return digits[code], true
	}
	return 0, false
}

// Event is one telephone-event payload (RFC 4733 §2.3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Event struct {
	Code uint8 // the event (§2.3.1); 0-15 are DTMF
	End  bool  // E: the last packets of the event (§2.3.2)
	// Volume is the power level in -dBm0, 0..63 (§2.3.4).
	Volume uint8
	// Duration is in timestamp units from the event's (or segment's) RTP
	// timestamp, so it depends on the telephone-event clock (§2.3.5).
	Duration uint16
}

// EventSize is the size of one telephone-event payload.
const EventSize = 4

// ParseEvent decodes the first 4 bytes of a telephone-event payload. The R
// bit is ignored as §2.3.3 requires. Bytes after the first event are
// ignored: one RTP packet carries one event, and redundancy travels in
// RFC 2198 blocks that the RTP layer unpacks.
func ParseEvent(b []byte) (Event, error) {
	if len(b) < EventSize {
		return Event{}, ErrShortPayload
	}
	return Event{
		Code:     b[0],
		End:      b[1]&0x80 != 0,
		Volume:   b[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(b[2:4]),
	}, nil
}

// MarshalTo writes e into b[:4] with R zero (§2.3.3) and returns 4. Volume
// is truncated to its 6 bits.
func (e Event) MarshalTo(b []byte) (int, error) {
	if len(b) < EventSize {
		return 0, ErrShortBuffer
	}
	b[0] = e.Code
	b[1] = e.Volume & 0x3f
	if e.End {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:4], e.Duration)
	return EventSize, nil
}
