package dtmf

import (
	"errors"
	"testing"
	"time"
)

// step is one action on a Merger at ms: Push(key from src), or Flush when
// src is SourceUnknown; want is what must come out right then.
type step struct {
	ms   int
	src  Source
	key  byte
	want string
}

const (
	rtp    = SourceRFC4733
	info   = SourceINFO
	inband = SourceInband
	flush  = SourceUnknown
)

func TestMerger(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		check func(t *testing.T, st Stats)
	}{
		{"one source", []step{
			{0, rtp, '1', "1"}, {200, rtp, '2', "2"}, {400, rtp, '2', "2"}, {600, rtp, '#', "#"},
		}, nil},
		{"RFC 4733 and in-band copies", []step{
			{0, rtp, '1', "1"}, {60, inband, '1', ""}, {500, rtp, '2', "2"}, {570, inband, '2', ""},
		}, func(t *testing.T, st Stats) {
			if st.Inband.Duplicates != 2 || st.RFC4733.Delivered != 2 || st.Preferred != rtp {
				t.Errorf("stats %+v", st)
			}
		}},
		{"in-band ahead of the preferred source waits", []step{
			{0, rtp, '1', "1"},
			{60, inband, '1', ""},
			{500, inband, '2', ""},
			{530, rtp, '2', "2"},
			{1000, flush, 0, ""},
		}, nil},
		{"same key twice quickly", []step{
			{0, rtp, '5', "5"}, {70, inband, '5', ""}, {150, rtp, '5', "5"}, {220, inband, '5', ""},
		}, nil},
		{"same key twice, copies lag more than the gap", []step{
			{0, rtp, '5', "5"},
			{100, rtp, '5', "5"},
			{110, inband, '5', ""},
			{210, inband, '5', ""},
			{2000, flush, 0, ""},
		}, nil},
		{"INFO 250 ms behind RFC 4733", []step{
			{0, rtp, '7', "7"}, {250, info, '7', ""}, {400, rtp, '7', "7"}, {650, info, '7', ""},
		}, nil},
		{"three sources", []step{
			{0, info, '9', "9"},
			{20, rtp, '9', ""},
			{80, inband, '9', ""},
			{400, rtp, '0', ""},
			{430, inband, '0', ""},
			{450, info, '0', "0"},
			{2000, flush, 0, ""},
		}, func(t *testing.T, st Stats) {
			if st.RFC4733.Duplicates != 2 || st.Inband.Duplicates != 2 || st.INFO.Delivered != 2 {
				t.Errorf("stats %+v", st)
			}
		}},
		{"preferred source misses a press: fallback at the deadline", []step{
			{0, rtp, '1', "1"},
			{60, inband, '1', ""},
			{500, inband, '2', ""},
			{799, flush, 0, ""},
			{800, flush, 0, "2"},
			{1000, rtp, '3', "3"},
			{1060, inband, '3', ""},
		}, func(t *testing.T, st Stats) {
			if st.Inband.Fallbacks != 1 || st.Preferred != rtp || st.Switches != 0 {
				t.Errorf("stats %+v", st)
			}
		}},
		{"preferred source skips a press: order kept", []step{
			{0, rtp, '1', "1"}, {500, inband, '2', ""}, {600, rtp, '3', "23"}, {650, inband, '3', ""},
		}, nil},
		{"preferred source goes quiet: switch", []step{
			{0, rtp, '1', "1"},
			{60, inband, '1', ""},
			{500, inband, '2', ""},
			{800, flush, 0, "2"},
			{1000, inband, '3', ""},
			{1300, flush, 0, "3"},
			{1500, inband, '4', "4"},
			{1550, rtp, '4', ""},
		}, func(t *testing.T, st Stats) {
			if st.Preferred != inband || st.Switches != 1 || st.Inband.Delivered != 3 || st.RFC4733.Duplicates != 1 {
				t.Errorf("stats %+v", st)
			}
		}},
		{"a late copy of a fallback", []step{
			{0, rtp, '1', "1"}, {500, inband, '2', ""}, {800, flush, 0, "2"}, {850, rtp, '2', ""},
		}, nil},
		{"lower-case INFO keys", []step{
			{0, info, 'a', "A"}, {30, rtp, 'A', ""},
		}, nil},
	} {
		m, err := NewMerger(MergerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Unix(1700000000, 0)
		var out []Digit
		for i, s := range tc.steps {
			at := t0.Add(time.Duration(s.ms) * time.Millisecond)
			if s.src == flush {
				out = m.Flush(out[:0], at)
			} else if out, err = m.Push(out[:0], Digit{Key: s.key, Source: s.src, At: at}); err != nil {
				t.Fatal(err)
			}
			var got []byte
			for _, d := range out {
				got = append(got, d.Key)
			}
			if string(got) != s.want {
				t.Errorf("%s: step %d (%d ms %v %q): got %q, want %q", tc.name, i, s.ms, s.src, s.key, got, s.want)
			}
		}
		if tc.check != nil {
			tc.check(t, m.Stats())
		}
	}
}

func TestMergerDeadline(t *testing.T) {
	m, err := NewMerger(MergerConfig{Window: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(0, 0)
	if _, ok := m.Deadline(); ok {
		t.Error("deadline with nothing waiting")
	}
	if _, err := m.Push(nil, Digit{'1', info, t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Push(nil, Digit{'2', rtp, t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if d, ok := m.Deadline(); !ok || !d.Equal(t0.Add(1100*time.Millisecond)) {
		t.Errorf("deadline %v %v", d, ok)
	}
	if _, err := m.Push(nil, Digit{'x', rtp, t0}); !errors.Is(err, ErrNotDigit) {
		t.Errorf("bad key: %v", err)
	}
	if _, err := m.Push(nil, Digit{'1', Source(9), t0}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad source: %v", err)
	}
	if _, err := NewMerger(MergerConfig{Window: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad window: %v", err)
	}
}

// TestMergerFull checks that more waiting digits than the merger holds
// pass in order rather than vanish.
func TestMergerFull(t *testing.T) {
	m, err := NewMerger(MergerConfig{Window: time.Hour, SwitchAfter: 100})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(0, 0)
	var got []byte
	push := func(ms int, src Source, key byte) {
		out, err := m.Push(nil, Digit{key, src, t0.Add(time.Duration(ms) * time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out {
			got = append(got, d.Key)
		}
	}
	push(0, rtp, '0')
	for i := range 12 {
		push(100*(i+1), inband, allKeys[i])
	}
	for _, d := range m.Flush(nil, t0.Add(2*time.Hour)) {
		got = append(got, d.Key)
	}
	if string(got) != "0"+allKeys[:12] {
		t.Errorf("got %q", got)
	}
}

func BenchmarkMerger(b *testing.B) {
	m, err := NewMerger(MergerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Unix(0, 0)
	out := make([]Digit, 0, 16)
	b.ReportAllocs()
	for i := range b.N {
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		out, _ = m.Push(out[:0], Digit{allKeys[i%16], rtp, at})
		out, _ = m.Push(out[:0], Digit{allKeys[i%16], inband, at.Add(50 * time.Millisecond)})
	}
}
