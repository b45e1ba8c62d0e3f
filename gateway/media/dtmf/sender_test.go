package dtmf

import (
	"errors"
	"testing"
	"time"
)

// rtpPkt is one telephone-event packet as it would travel in RTP.
type rtpPkt struct {
	ts      uint32
	seq     uint16
	marker  bool
	payload [4]byte
}

func (p rtpPkt) event(t testing.TB) Event {
	t.Helper()
	e, err := ParseEvent(p.payload[:])
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// send runs a Sender for key to the end, numbering packets from seq.
func send(t testing.TB, cfg SenderConfig, key byte, ts uint32, seq uint16) []rtpPkt {
	t.Helper()
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(key, ts); err != nil {
		t.Fatal(err)
	}
	var out []rtpPkt
	var buf [4]byte
	for s.Busy() {
		p, err := s.Next(buf[:])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rtpPkt{ts: p.Timestamp, seq: seq, marker: p.Marker, payload: buf})
		seq++
	}
	if _, err := s.Next(buf[:]); !errors.Is(err, ErrIdle) {
		t.Fatalf("Next after the end: %v", err)
	}
	return out
}

func TestSenderSequence(t *testing.T) {
	for _, tc := range []struct {
		cfg  SenderConfig
		durs []uint16 // durations of the packets before the end repeats
	}{
		{SenderConfig{}, []uint16{160, 320, 480, 640, 800}},
		{SenderConfig{ClockRate: 48000}, []uint16{960, 1920, 2880, 3840, 4800}},
		{SenderConfig{Duration: 90 * time.Millisecond, Ptime: 30 * time.Millisecond}, []uint16{240, 480, 720}},
		{SenderConfig{Duration: 50 * time.Millisecond}, []uint16{160, 320, 400}},
		{SenderConfig{Duration: time.Millisecond}, []uint16{8}},
	} {
		repeats := max(tc.cfg.EndRepeats, 3)
		pkts := send(t, tc.cfg, '#', 12345, 7)
		if len(pkts) != len(tc.durs)+repeats-1 {
			t.Errorf("%+v: %d packets, want %d", tc.cfg, len(pkts), len(tc.durs)+repeats-1)
			continue
		}
		for i, p := range pkts {
			e := p.event(t)
			want := tc.durs[min(i, len(tc.durs)-1)]
			end := i >= len(tc.durs)-1
			if p.ts != 12345 || p.marker != (i == 0) || e.Code != 11 || e.Volume != 10 || e.End != end || e.Duration != want {
				t.Errorf("%+v packet %d: ts %d marker %v %+v, want duration %d end %v", tc.cfg, i, p.ts, p.marker, e, want, end)
			}
		}
	}
}

// TestSenderSegments checks a press longer than the 16-bit duration field
// (RFC 4733 §2.5.1.3).
func TestSenderSegments(t *testing.T) {
	cfg := SenderConfig{Duration: 10 * time.Second, Volume: 7, EndRepeats: 2}
	pkts := send(t, cfg, '9', 0xFFFF0000, 0)
	segTS := uint32(0xFFFF0000)
	var prev uint16
	for i, p := range pkts {
		e := p.event(t)
		if p.ts != segTS {
			if prev != 0xFFFF || p.ts != segTS+0xFFFF {
				t.Fatalf("packet %d: segment at %d after duration %d of segment %d", i, p.ts, prev, segTS)
			}
			segTS = p.ts
		}
		if p.marker != (i == 0) || e.Volume != 7 {
			t.Fatalf("packet %d: marker %v %+v", i, p.marker, e)
		}
		prev = e.Duration
	}
	last := pkts[len(pkts)-1].event(t)
	if segTS != 0xFFFF0000+0xFFFF || !last.End || last.Duration != 80000-0xFFFF {
		t.Errorf("last segment %d ends with %+v", segTS, last)
	}
}

func TestSenderStop(t *testing.T) {
	s, err := NewSender(SenderConfig{Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start('1', 0); err != nil {
		t.Fatal(err)
	}
	var buf [4]byte
	for range 3 {
		if _, err := s.Next(buf[:]); err != nil {
			t.Fatal(err)
		}
	}
	s.Stop()
	var ends int
	for s.Busy() {
		p, err := s.Next(buf[:])
		if err != nil {
			t.Fatal(err)
		}
		if e, _ := ParseEvent(p.Payload); !e.End || e.Duration != 640 {
			t.Errorf("after Stop: %+v", e)
		}
		ends++
	}
	if ends != 3 {
		t.Errorf("%d end packets", ends)
	}
}

func TestSenderErrors(t *testing.T) {
	for _, cfg := range []SenderConfig{
		{ClockRate: 10}, {Ptime: time.Microsecond}, {Duration: -1}, {Volume: 64}, {EndRepeats: -1},
	} {
		if _, err := NewSender(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	s, err := NewSender(SenderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start('x', 0); !errors.Is(err, ErrNotDigit) {
		t.Errorf("Start('x'): %v", err)
	}
	if _, err := s.Next(make([]byte, 4)); !errors.Is(err, ErrIdle) {
		t.Errorf("Next while idle: %v", err)
	}
	if err := s.Start('a', 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(make([]byte, 3)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffer: %v", err)
	}
}

func BenchmarkSender(b *testing.B) {
	s, err := NewSender(SenderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var buf [4]byte
	b.ReportAllocs()
	for i := range b.N {
		if !s.Busy() {
			_ = s.Start('5', uint32(i))
		}
		if _, err := s.Next(buf[:]); err != nil {
			b.Fatal(err)
		}
	}
}
