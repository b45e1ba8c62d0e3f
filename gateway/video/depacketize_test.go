package video

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/pion/rtp"
)

func depacketize(pkts []*rtp.Packet) (*collector, *Depacketizer, int) {
	c := &collector{}
	d := NewDepacketizer(c.add, 0)
	wants := 0
	for _, p := range pkts {
		if d.Push(p) {
			wants++
		}
	}
	return c, d, wants
}

// TestRoundTrip packetizes the x264 stream in both modes and several MTUs
// and depacketizes it again: every access unit comes back with the same
// NAL units, timestamp and keyframe flag.
func TestRoundTrip(t *testing.T) {
	aus := readAUs(t, x264Stream)
	if len(aus) != 30 {
		t.Fatalf("%d access units in %s, want 30", len(aus), x264Stream)
	}
	for _, cfg := range []PacketizerConfig{
		{Mode: 1, MTU: 1200, PayloadType: 96, SSRC: 7},
		{Mode: 1, MTU: 300, PayloadType: 96, SSRC: 7},
		{Mode: 1, MTU: minMTU, PayloadType: 96, SSRC: 7},
		{Mode: 0, MTU: 65535, PayloadType: 97, SSRC: 8},
	} {
		pkts := packetsOf(t, aus, cfg)
		c, d, wants := depacketize(pkts)
		if len(c.aus) != len(aus) {
			t.Fatalf("mode %d MTU %d: %d access units back, want %d", cfg.Mode, cfg.MTU, len(c.aus), len(aus))
		}
		for i := range aus {
			if !sameNALs(aus[i], c.aus[i]) || c.ts[i] != uint32(1000+3000*i) || c.keys[i] != (i%10 == 0) {
				t.Errorf("mode %d MTU %d: access unit %d differs (key %v)", cfg.Mode, cfg.MTU, i, c.keys[i])
			}
		}
		st := d.Stats()
		if wants != 0 || st.Lost != 0 || st.Dropped != 0 || st.Frames != 30 || st.Keyframes != 3 || st.ParamsInserted != 0 {
			t.Errorf("mode %d MTU %d: wants %d, stats %+v", cfg.Mode, cfg.MTU, wants, st)
		}
		if st.Width != 320 || st.Height != 180 || st.FrameRate < 29.9 || st.FrameRate > 30.1 || st.Bitrate <= 0 {
			t.Errorf("mode %d MTU %d: measured %+v", cfg.Mode, cfg.MTU, st)
		}
		var maxLen int
		stap, fua := 0, 0
		for i, p := range pkts {
			maxLen = max(maxLen, 12+len(p.Payload))
			switch NALType(p.Payload) {
			case nalSTAPA:
				stap++
			case nalFUA:
				fua++
			}
			if p.SequenceNumber != pkts[0].SequenceNumber+uint16(i) || p.SSRC != cfg.SSRC || p.PayloadType != cfg.PayloadType {
				t.Fatalf("packet %d: %v", i, p.Header)
			}
			last := i == len(pkts)-1 || pkts[i+1].Timestamp != p.Timestamp
			if p.Marker != last {
				t.Fatalf("packet %d: marker %v, last of its access unit %v", i, p.Marker, last)
			}
		}
		if maxLen > cfg.MTU {
			t.Errorf("mode %d: packet of %d bytes over MTU %d", cfg.Mode, maxLen, cfg.MTU)
		}
		if cfg.Mode == 0 && (stap != 0 || fua != 0) {
			t.Errorf("mode 0 sent %d STAP-A and %d FU-A", stap, fua)
		}
		if cfg.Mode == 1 && (stap == 0 || (cfg.MTU < 1200 && fua == 0)) {
			t.Errorf("mode 1 MTU %d sent %d STAP-A and %d FU-A", cfg.MTU, stap, fua)
		}
	}
}

// TestLoss drops packets and checks that the damaged access unit and what
// depends on it are withheld until the next keyframe, and that a keyframe
// is asked for.
func TestLoss(t *testing.T) {
	aus := readAUs(t, x264Stream)
	pkts := packetsOf(t, aus, PacketizerConfig{Mode: 1, MTU: 400})
	// Index of the first packet of each access unit.
	first := map[uint32]int{}
	for i, p := range pkts {
		if _, ok := first[p.Timestamp]; !ok {
			first[p.Timestamp] = i
		}
	}
	at := func(au int) int { return first[uint32(1000+3000*au)] }

	tests := []struct {
		name string
		drop []int // packet indexes
		want []int // access units delivered
	}{
		{"middle of frame 3", []int{at(3) + 1}, append(seq(0, 3), seq(10, 30)...)},
		{"marker of frame 4", []int{at(5) - 1}, append(seq(0, 4), seq(10, 30)...)},
		{"first packet of frame 12", []int{at(12)}, append(seq(0, 12), seq(20, 30)...)},
		{"first packet of IDR 10", []int{at(10)}, append(seq(0, 10), seq(20, 30)...)},
		{"whole frame 25", seq(at(25), at(26)), seq(0, 25)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in []*rtp.Packet
			for i, p := range pkts {
				if !contains(tc.drop, i) {
					in = append(in, p)
				}
			}
			c, d, wants := depacketize(in)
			var got []int
			for _, ts := range c.ts {
				got = append(got, int(ts-1000)/3000)
			}
			if !equalInts(got, tc.want) {
				t.Errorf("delivered %v, want %v", got, tc.want)
			}
			for i, au := range c.aus {
				if !sameNALs(au, aus[got[i]]) {
					t.Errorf("access unit %d damaged", got[i])
				}
			}
			st := d.Stats()
			if wants == 0 || st.Lost != uint64(len(tc.drop)) || st.Frames != uint64(len(tc.want)) {
				t.Errorf("wants %d, stats %+v", wants, st)
			}
		})
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestParamsInserted sends IDRs without SPS/PPS after the first: the
// depacketizer puts the kept ones back in front. Before any SPS/PPS, an
// IDR cannot be decoded and is withheld, unless SDP seeded them.
func TestParamsInserted(t *testing.T) {
	aus := readAUs(t, x264Stream)
	stripped := make([][]byte, len(aus))
	for i, au := range aus {
		stripped[i] = au
		if i > 0 {
			stripped[i] = stripParams(au)
		}
	}
	c, d, _ := depacketize(packetsOf(t, stripped, PacketizerConfig{Mode: 1}))
	if len(c.aus) != 30 || d.Stats().ParamsInserted != 2 {
		t.Fatalf("%d access units, stats %+v", len(c.aus), d.Stats())
	}
	for i := range aus {
		if !sameNALs(stripParams(c.aus[i]), stripParams(aus[i])) {
			t.Errorf("access unit %d differs", i)
		}
		if i%10 == 0 {
			// SPS and PPS before the IDR slice, after the AUD.
			n := nals(c.aus[i])
			if len(n) < 4 || NALType(n[0]) != NALAUD || NALType(n[1]) != NALSPS || NALType(n[2]) != NALPPS {
				t.Errorf("keyframe %d starts %v", i, types(n))
			}
		}
	}

	// Without SPS/PPS anywhere, nothing can be decoded…
	all := make([][]byte, len(aus))
	for i, au := range aus {
		all[i] = stripParams(au)
	}
	pkts := packetsOf(t, all, PacketizerConfig{Mode: 1})
	c, d, wants := depacketize(pkts)
	if len(c.aus) != 0 || wants == 0 || d.Stats().Dropped != 30 {
		t.Errorf("no parameter sets: %d access units delivered, %d keyframe requests, %+v", len(c.aus), wants, d.Stats())
	}
	// …unless sprop-parameter-sets brought them.
	var sprop []string
	for _, n := range nals(aus[0]) {
		if t := NALType(n); t == NALSPS || t == NALPPS {
			sprop = append(sprop, base64.StdEncoding.EncodeToString(n))
		}
	}
	c = &collector{}
	d = NewDepacketizer(c.add, 0)
	if err := d.Params().SetSprop(sprop[0] + "," + sprop[1]); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		d.Push(p)
	}
	if len(c.aus) != 30 || d.Stats().ParamsInserted != 3 || d.Stats().Width != 320 {
		t.Errorf("seeded: %d access units, %+v", len(c.aus), d.Stats())
	}
	if err := d.Params().SetSprop("Z0LA,!!"); err == nil {
		t.Error("bad sprop accepted")
	}
}

func types(n [][]byte) []uint8 {
	var out []uint8
	for _, x := range n {
		out = append(out, NALType(x))
	}
	return out
}

// TestLateAndDuplicate: packets that arrive after a later one are dropped
// as late; the stream goes on.
func TestLateAndDuplicate(t *testing.T) {
	aus := readAUs(t, x264Stream)[:10]
	pkts := packetsOf(t, aus, PacketizerConfig{Mode: 1, MTU: 600})
	in := append([]*rtp.Packet{}, pkts[:5]...)
	in = append(in, pkts[4], pkts[2]) // duplicate, then late
	in = append(in, pkts[5:]...)
	c, d, _ := depacketize(in)
	if len(c.aus) != 10 || d.Stats().Late != 2 || d.Stats().Lost != 0 {
		t.Errorf("%d access units, %+v", len(c.aus), d.Stats())
	}
}

// TestPaddingOnly: padding-only packets between and inside access units
// (as Chromium sends them to probe bandwidth) take sequence numbers and
// nothing else.
func TestPaddingOnly(t *testing.T) {
	aus := readAUs(t, x264Stream)[:10]
	pkts := packetsOf(t, aus, PacketizerConfig{Mode: 1, MTU: 500})
	var in []*rtp.Packet
	seq := uint16(0)
	for i, p := range pkts {
		q := *p
		q.SequenceNumber = seq
		seq++
		in = append(in, &q)
		if i%3 == 0 {
			in = append(in, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: q.Timestamp + 1234, Padding: true}})
			seq++
		}
	}
	c, d, wants := depacketize(in)
	if len(c.aus) != 10 || wants != 0 || d.Stats().Lost != 0 {
		t.Errorf("%d access units, %d keyframe requests, %+v", len(c.aus), wants, d.Stats())
	}
	for i := range c.aus {
		if !sameNALs(c.aus[i], aus[i]) {
			t.Errorf("access unit %d differs", i)
		}
	}
}

// TestMalformedPayloads: bad STAP-A lengths, reserved types, mode-2
// structures and stray FU-A fragments damage the access unit, never
// panic.
func TestMalformedPayloads(t *testing.T) {
	aus := readAUs(t, x264Stream)
	good := packetsOf(t, aus[:1], PacketizerConfig{Mode: 1, SSRC: 1})
	for _, bad := range [][]byte{
		{nalSTAPA, 0, 200, 0x65},
		{nalSTAPA, 0},
		{nalSTAPA, 0, 0},
		{30},
		{nalSTAPB, 0, 0},
		{nalFUA},
		{nalFUA, 0x05, 1, 2, 3}, // middle fragment without a start
		{0x80 | NALSlice, 1},    // forbidden bit
	} {
		c := &collector{}
		d := NewDepacketizer(c.add, 0)
		for _, p := range good {
			d.Push(p)
		}
		n := len(c.aus)
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: good[len(good)-1].SequenceNumber + 1, Timestamp: 99, Marker: true}, Payload: bad}
		if !d.Push(p) {
			t.Errorf("%x: no keyframe request", bad)
		}
		if len(c.aus) != n {
			t.Errorf("%x: delivered", bad)
		}
	}
}

// TestMaxAccessUnit: an access unit over the bound is dropped.
func TestMaxAccessUnit(t *testing.T) {
	aus := readAUs(t, x264Stream)
	c := &collector{}
	d := NewDepacketizer(c.add, len(aus[0])/2)
	for _, p := range packetsOf(t, aus[:2], PacketizerConfig{Mode: 1}) {
		d.Push(p)
	}
	if len(c.aus) != 0 || d.Stats().Dropped == 0 {
		t.Errorf("oversized keyframe delivered: %+v", d.Stats())
	}
}

// TestMode0TooLarge: in mode 0 a NAL unit over the MTU cannot be sent;
// the access unit and those depending on it are skipped until an IDR
// fits.
func TestMode0TooLarge(t *testing.T) {
	aus := readAUs(t, x264Stream)
	largest := 0
	for i, au := range aus {
		if i%10 == 0 {
			continue
		}
		for _, n := range nals(au) {
			largest = max(largest, len(n))
		}
	}
	var sent [][]byte
	var cur []byte
	p, err := NewPacketizer(PacketizerConfig{Mode: 0, MTU: 12 + largest}, func(b []byte) error {
		cur = append(append(cur, startCode...), b[12:]...)
		if b[1]&0x80 != 0 {
			sent = append(sent, cur)
			cur = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var tooLarge int
	for i, au := range aus {
		if err := p.Packetize(au, uint32(i)); err != nil {
			if !errors.Is(err, ErrNALTooLarge) {
				t.Fatal(err)
			}
			tooLarge++
		}
	}
	// IDRs are larger than any P slice here: every IDR fails, and so
	// nothing after it goes either.
	if tooLarge != 3 || len(sent) != 0 || p.Stats().Skipped != 27 {
		t.Errorf("too large %d, sent %d, stats %+v", tooLarge, len(sent), p.Stats())
	}
	// With room for the IDRs everything goes, each NAL unit in its own
	// packet.
	p2, _ := NewPacketizer(PacketizerConfig{Mode: 0, MTU: 65535}, func([]byte) error { return nil })
	for i, au := range aus {
		if err := p2.Packetize(au, uint32(i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := p2.Stats(); st.Frames != 30 || st.TooLarge != 0 || int(st.Packets) != countNALs(aus) {
		t.Errorf("stats %+v, %d NAL units", st, countNALs(aus))
	}
}

// TestMode0Sliced: the stream x264 made with slice-max-size=1000 (as
// baresip and room systems encode for mode 0) goes whole in mode 0 at
// MTU 1200, one NAL unit per packet, and comes back whole.
func TestMode0Sliced(t *testing.T) {
	aus := readAUs(t, "x264-320x180-15fps-sliced.h264")
	pkts := packetsOf(t, aus, PacketizerConfig{Mode: 0, MTU: 1200})
	if len(pkts) != countNALs(aus) {
		t.Errorf("%d packets for %d NAL units", len(pkts), countNALs(aus))
	}
	c, d, _ := depacketize(pkts)
	if len(c.aus) != len(aus) || d.Stats().Dropped != 0 {
		t.Fatalf("%d of %d access units back", len(c.aus), len(aus))
	}
	for i := range aus {
		if !sameNALs(aus[i], c.aus[i]) {
			t.Errorf("access unit %d differs", i)
		}
	}
}

func countNALs(aus [][]byte) int {
	n := 0
	for _, au := range aus {
		n += len(nals(au))
	}
	return n
}

func TestPacketizerConfig(t *testing.T) {
	send := func([]byte) error { return nil }
	for _, cfg := range []PacketizerConfig{{MTU: 20}, {Mode: 2}, {PayloadType: 200}, {MTU: 70000}} {
		if _, err := NewPacketizer(cfg, send); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	p, err := NewPacketizer(PacketizerConfig{FirstSequence: 65535, SSRC: 42}, send)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Packetize([]byte{0, 0, 1, 0x65, 1, 2, 3}, 5); err != nil {
		t.Fatal(err)
	}
	if seq, ts := p.Next(); seq != 0 || ts != 5 || p.SSRC() != 42 {
		t.Errorf("next %d ts %d", seq, ts)
	}
}

// TestMeter: rates over a steady stream, and across a clock that repeats,
// goes back and leaps.
func TestMeter(t *testing.T) {
	var m Meter
	if fps, br := m.Rates(); fps != 0 || br != 0 {
		t.Fatal("rates before frames")
	}
	ts := uint32(4_000_000_000)
	for range 100 {
		m.Frame(ts, 1000)
		ts += 3000
	}
	if fps, br := m.Rates(); fps != 30 || br != 240000 {
		t.Errorf("steady: %.2f fps %d bit/s", fps, br)
	}
	for _, jump := range []uint32{ts - 3000, 5, 5, ts + 20*ClockRate} {
		m.Frame(jump, 1000)
	}
	if fps, br := m.Rates(); fps != 30 || br != 240000 {
		t.Errorf("after jumps: %.2f fps %d bit/s", fps, br)
	}
}

// TestPayloads: the payload half alone, as the SFU's bot tracks would use
// it: sizes within the buffer, the marker on the last payload only, and
// the errors.
func TestPayloads(t *testing.T) {
	au := readAUs(t, x264Stream)[0]
	var sizes []int
	var markers []bool
	err := Payloads(au, 1, make([]byte, 300), func(p []byte, m bool) error {
		sizes, markers = append(sizes, len(p)), append(markers, m)
		return nil
	})
	if err != nil || len(sizes) < 5 {
		t.Fatalf("%v, %d payloads", err, len(sizes))
	}
	for i := range sizes {
		if sizes[i] > 300 || markers[i] != (i == len(sizes)-1) {
			t.Errorf("payload %d: %d bytes, marker %v", i, sizes[i], markers[i])
		}
	}
	if err := Payloads(au, 1, make([]byte, 2), nil); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("tiny buffer: %v", err)
	}
	called := false
	if err := Payloads(au, 0, make([]byte, 300), func([]byte, bool) error { called = true; return nil }); !errors.Is(err, ErrNALTooLarge) || called {
		t.Errorf("mode 0: %v, emitted %v", err, called)
	}
	stop := errors.New("stop")
	if err := Payloads(au, 1, make([]byte, 300), func([]byte, bool) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("emit error: %v", err)
	}
}

// restamp gives copies of pkts the SSRC and a sequence starting at seq.
func restamp(pkts []*rtp.Packet, ssrc uint32, seq uint16) []*rtp.Packet {
	out := make([]*rtp.Packet, len(pkts))
	for i, p := range pkts {
		c := *p
		c.SSRC, c.SequenceNumber = ssrc, seq+uint16(i)
		out[i] = &c
	}
	return out
}

// TestRestart: a room system that changes SSRC (after a re-INVITE, or
// restarting) with sequence numbers that look old is a new stream, shown
// from its IDR, not a run of late packets; so are sequence numbers started
// over under the same SSRC, once resyncAfter of them came in a row.
func TestRestart(t *testing.T) {
	aus := readAUs(t, x264Stream)[:10]
	pkts := packetsOf(t, aus, PacketizerConfig{Mode: 1, MTU: 600})
	if len(pkts) < 2*resyncAfter {
		t.Fatalf("%d packets: too few for the test", len(pkts))
	}

	in := append(restamp(pkts, 1, 40000), restamp(pkts, 2, 10000)...)
	c, d, _ := depacketize(in)
	if s := d.Stats(); len(c.aus) != 20 || s.Restarts != 1 || s.Late != 0 || s.Lost != 0 || keyframes(c) != 2 {
		t.Errorf("new SSRC: %d access units (%d keyframes), %+v", len(c.aus), keyframes(c), s)
	}

	// The same SSRC, the sequence started over, the same pictures twice:
	// the first resyncAfter-1 packets are dropped as late, the first
	// picture with them, and the second IDR shows the stream again.
	again := append(restamp(pkts, 1, 10000), restamp(pkts, 1, 10000+uint16(len(pkts)))...)
	for _, p := range again[len(pkts):] {
		p.Timestamp += 30000 // after the first copy's pictures
	}
	c, d, _ = depacketize(append(restamp(pkts, 1, 40000), again...))
	if s := d.Stats(); s.Restarts != 1 || s.Late != resyncAfter || len(c.aus) != 20 || keyframes(c) != 2 {
		t.Errorf("restarted sequence: %d access units (%d keyframes), %+v", len(c.aus), keyframes(c), s)
	}
}

func keyframes(c *collector) int {
	n := 0
	for _, k := range c.keys {
		if k {
			n++
		}
	}
	return n
}
