package jitter

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzPushPop drives the buffer with arbitrary packet streams: each 6-byte
// record is a sequence number, a timestamp step and an arrival step, and
// the low bit of the first byte decides whether a Pop follows. Every frame
// that comes out must carry the payload pushed with its sequence number,
// and the counters must add up.
func FuzzPushPop(f *testing.F) {
	f.Add([]byte{0, 1, 0, 160, 20, 1, 0, 2, 0, 160, 20, 1, 0, 3, 0, 160, 20, 1})
	f.Add([]byte{255, 255, 0, 160, 20, 1, 0, 0, 0, 160, 20, 1, 0, 1, 255, 255, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := New(Config{Slots: 16, MaxDelay: 60 * time.Millisecond, MaxPayload: 2})
		if err != nil {
			t.Fatal(err)
		}
		var ts uint32
		at := t0
		dst := make([]byte, 2)
		for len(data) >= 6 {
			seq := binary.BigEndian.Uint16(data)
			ts += uint32(binary.BigEndian.Uint16(data[2:]))
			at = at.Add(time.Duration(data[4]) * time.Millisecond)
			pop := data[5]&1 == 1
			data = data[6:]
			if err := b.Push(seq, ts, []byte{byte(seq), byte(seq >> 8)}, at); err != nil {
				t.Fatal(err)
			}
			if pop {
				fr := b.Pop(dst)
				if fr.Status == StatusUnknown {
					t.Fatal("unknown status")
				}
				if fr.Status == StatusFrame && (fr.N != 2 || binary.LittleEndian.Uint16(dst) != fr.Seq) {
					t.Fatalf("frame %d carries %v", fr.Seq, dst[:fr.N])
				}
			}
		}
		st := b.Stats()
		if st.Played+st.Dropped > st.Received {
			t.Fatalf("played %d + dropped %d > received %d", st.Played, st.Dropped, st.Received)
		}
		if st.TargetDelay < 20*time.Millisecond || st.TargetDelay > 60*time.Millisecond {
			t.Fatalf("target %v", st.TargetDelay)
		}
	})
}
