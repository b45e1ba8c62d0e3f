package dtmf

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzParseEvent checks that any payload parses without panic and that a
// parsed event marshals back to the same bytes, R bit aside (RFC 4733
// §2.3.3). Seeds are in testdata/fuzz/FuzzParseEvent.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte{0x05, 0x0a, 0x00, 0xa0})
	f.Add([]byte{0x0b, 0x8a, 0x03, 0x20, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEvent(b)
		if err != nil {
			if len(b) >= EventSize {
				t.Fatalf("%x: %v", b, err)
			}
			return
		}
		var out [EventSize]byte
		if _, err := e.MarshalTo(out[:]); err != nil {
			t.Fatal(err)
		}
		want := [EventSize]byte(b[:EventSize])
		want[1] &^= 0x40
		if out != want {
			t.Fatalf("%x round-trips to %x", b[:EventSize], out)
		}
		if key, ok := EventKey(e.Code); ok {
			if c, err := EventCode(key); err != nil || c != e.Code {
				t.Fatalf("code %d → %q → %d %v", e.Code, key, c, err)
			}
		}
	})
}

// FuzzReceiver feeds a Receiver packets cut from the input, 10 bytes each
// (payload, timestamp, sequence, marker): it must not panic, must report
// only DTMF events, with their keys, and must count what it reports.
func FuzzReceiver(f *testing.F) {
	f.Add(bytes.Repeat([]byte{5, 0x0a, 0, 0xa0, 0, 0, 1, 0, 0, 1}, 3))
	f.Add([]byte{1, 0x8a, 3, 0x20, 0, 0, 0, 0, 0, 1, 2, 0x8a, 3, 0x20, 0, 0, 9, 0, 0, 2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReceiver(8000)
		if err != nil {
			t.Fatal(err)
		}
		seen := make(map[uint32]int)
		for ; len(b) >= 10; b = b[10:] {
			ts := binary.BigEndian.Uint32(b[4:])
			key, ok, err := r.Receive(b[:4], ts, binary.BigEndian.Uint16(b[8:]), b[4]&1 == 1)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				if _, dtmf := EventKey(b[0]); !dtmf || key != digits[b[0]] {
					t.Fatalf("event %d reported as %q", b[0], key)
				}
				seen[ts]++
			}
		}
		if st := r.Stats(); st.Presses != uint64(sumValues(seen)) {
			t.Fatalf("stats %+v, presses %v", st, seen)
		}
	})
}

func sumValues(m map[uint32]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
