package dtmf

import (
	"errors"
	"testing"
	"time"
)

// receive feeds pkts to a new Receiver and returns the keys reported.
func receive(t *testing.T, clock int, pkts []rtpPkt) (string, ReceiverStats) {
	t.Helper()
	r, err := NewReceiver(clock)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, p := range pkts {
		key, ok, err := r.Receive(p.payload[:], p.ts, p.seq, p.marker)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out = append(out, key)
		}
	}
	return string(out), r.Stats()
}

// press is the packets of key sent at ts (in clock units) with sequence
// numbers from seq, by a default Sender at clock.
func press(t *testing.T, clock int, key byte, ts uint32, seq uint16, d time.Duration) []rtpPkt {
	return send(t, SenderConfig{ClockRate: clock, Duration: d}, key, ts, seq)
}

// seqFrom returns the first sequence number after pkts.
func seqFrom(pkts []rtpPkt) uint16 { return pkts[len(pkts)-1].seq + 1 }

// cat joins packet lists.
func cat(lists ...[]rtpPkt) []rtpPkt {
	var out []rtpPkt
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// raw makes a packet by hand.
func raw(ts uint32, seq uint16, marker bool, code uint8, end bool, dur uint16) rtpPkt {
	p := rtpPkt{ts: ts, seq: seq, marker: marker}
	_, _ = Event{Code: code, End: end, Volume: 10, Duration: dur}.MarshalTo(p.payload[:])
	return p
}

func TestReceiver(t *testing.T) {
	const ms100 = 100 * time.Millisecond
	for _, clock := range []int{8000, 48000} {
		tick := uint32(clock / 1000) // timestamp units per ms
		a := press(t, clock, '1', 1000, 10, ms100)
		b := press(t, clock, '2', 1000+300*tick, seqFrom(a), ms100)
		a2 := press(t, clock, '1', 1000+300*tick, seqFrom(a), ms100)
		long := press(t, clock, '#', 5000, 100, 10*time.Second)

		for _, tc := range []struct {
			name  string
			pkts  []rtpPkt
			want  string
			stale uint64
		}{
			{"one press", a, "1", 0},
			{"two keys", cat(a, b), "12", 0},
			{"same key twice", cat(a, a2), "11", 0},
			{"first packet lost", cat(a[1:], b[2:]), "12", 0},
			{"only end packets", cat(a[len(a)-3:], b[len(b)-1:]), "12", 0},
			{"all duplicated", cat(a, a, b, b), "12", 0},
			{"end of the first after the second starts", cat(a[:4], b[:2], a[4:], b[2:]), "12", 0},
			{"first press late as a whole", cat(b[:1], a, b[1:]), "2", uint64(len(a))},
			{"first press after the whole second", cat(b, a), "2", uint64(len(a))},
			{"long press segmented", long, "#", 0},
			{"segment boundary lost", cat(long[:300], long[340:]), "#", 0},
			{"same key after a lost end", cat(a[:3], a2[1:]), "11", 0},
			{"flash between", cat(a, []rtpPkt{raw(1000+150*tick, seqFrom(a), true, 16, false, 400)}, b), "12", 0},
		} {
			got, st := receive(t, clock, tc.pkts)
			if got != tc.want || st.Stale != tc.stale {
				t.Errorf("%d Hz, %s: got %q (stale %d), want %q (stale %d)", clock, tc.name, got, st.Stale, tc.want, tc.stale)
			}
		}
	}
}

func TestReceiverHandmade(t *testing.T) {
	for _, tc := range []struct {
		name string
		pkts []rtpPkt
		want string
	}{
		// Many senders never segment: the duration wraps under one timestamp.
		{"duration wraps", []rtpPkt{
			raw(0, 1, true, 5, false, 0xFF00), raw(0, 2, false, 5, false, 0xFFF0),
			raw(0, 3, false, 5, false, 0x0050), raw(0, 4, false, 5, true, 0x0100),
			raw(0, 5, false, 5, true, 0x0100),
		}, "5"},
		{"segments without the maximum", []rtpPkt{
			raw(0, 1, true, 5, false, 0xFFFF), raw(0xFFFF, 2, false, 5, false, 160),
			raw(0xFFFF, 3, false, 5, true, 320),
		}, "5"},
		{"a marker starts a new press", []rtpPkt{
			raw(0, 1, true, 5, false, 0xFFFF), raw(0xFFFF, 2, true, 5, false, 160),
		}, "55"},
		{"a new code is a new press", []rtpPkt{
			raw(0, 1, true, 5, false, 0xFFFF), raw(0xFFFF, 2, false, 6, false, 160),
		}, "56"},
		{"same timestamp, new code", []rtpPkt{
			raw(800, 1, true, 1, true, 800), raw(800, 2, true, 2, true, 800),
		}, "12"},
		{"timestamps restart", []rtpPkt{
			raw(90000, 1, true, 1, true, 800), raw(160, 2, true, 2, true, 800),
		}, "12"},
		{"timestamp wraps", []rtpPkt{
			raw(0xFFFFFF00, 1, true, 1, true, 800), raw(0x00000200, 2, true, 2, true, 800),
			raw(0xFFFFFF00, 0, false, 1, true, 800),
		}, "12"},
		{"sequence wraps", []rtpPkt{
			raw(100, 0xFFFF, true, 3, false, 160), raw(2000, 0, true, 4, false, 160),
			raw(1000, 0xFFFE, true, 7, false, 160),
		}, "34"},
		{"events above 15", []rtpPkt{
			raw(0, 1, true, 16, false, 160), raw(0, 2, true, 16, true, 320),
			raw(400, 3, true, 70, true, 160), raw(800, 4, true, 15, true, 160),
		}, "D"},
	} {
		if got, _ := receive(t, 8000, tc.pkts); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestReceiverErrors(t *testing.T) {
	if _, err := NewReceiver(0); !errors.Is(err, ErrClockRate) {
		t.Errorf("clock 0: %v", err)
	}
	r, err := NewReceiver(8000)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Receive([]byte{1, 2, 3}, 0, 0, true); ok || !errors.Is(err, ErrShortPayload) {
		t.Errorf("short payload: %v %v", ok, err)
	}
	p := raw(0, 1, true, 16, false, 0)
	r.Receive(p.payload[:], p.ts, p.seq, p.marker)
	if st := r.Stats(); st.Malformed != 1 || st.Packets != 1 || st.Ignored != 1 || st.Presses != 0 {
		t.Errorf("stats %+v", st)
	}
	r.Reset()
	p = raw(0, 1, false, 16, false, 0)
	r.Receive(p.payload[:], p.ts, p.seq, p.marker)
	if st := r.Stats(); st.Ignored != 2 {
		t.Errorf("after Reset the event is new: %+v", st)
	}
}

func BenchmarkReceiver(b *testing.B) {
	r, err := NewReceiver(8000)
	if err != nil {
		b.Fatal(err)
	}
	var payload [4]byte
	b.ReportAllocs()
	for i := range b.N {
		// Presses of 8 packets each, 1 s apart.
		ev := i / 8
		_, _ = Event{Code: uint8(ev % 16), End: i%8 >= 5, Duration: uint16(160 * (min(i%8, 5) + 1))}.MarshalTo(payload[:])
		if _, _, err := r.Receive(payload[:], uint32(ev*8000), uint16(i), i%8 == 0); err != nil {
			b.Fatal(err)
		}
	}
}
