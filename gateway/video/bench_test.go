package video

import (
	"testing"

	"github.com/pion/rtp"
)

// BenchmarkPacketize sends the x264 stream's access units as RTP (mode 1,
// MTU 1200); ns/op and allocs/op are per packet.
func BenchmarkPacketize(b *testing.B) {
	aus := readAUs(b, x264Stream)
	n := 0
	p, err := NewPacketizer(PacketizerConfig{Mode: 1, PayloadType: 96}, func([]byte) error { n++; return nil })
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	ts := uint32(0)
	for i := 0; n < b.N; i++ {
		if err := p.Packetize(aus[i%len(aus)], ts); err != nil {
			b.Fatal(err)
		}
		ts += 3000
	}
}

// BenchmarkDepacketize reassembles the same stream; per packet.
func BenchmarkDepacketize(b *testing.B) {
	aus := readAUs(b, x264Stream)
	pkts := packetsOf(b, aus, PacketizerConfig{Mode: 1})
	frames := 0
	d := NewDepacketizer(func(AccessUnit) { frames++ }, 0)
	// Sequence numbers and timestamps keep running across rounds.
	orig := make([]uint32, len(pkts))
	for i, p := range pkts {
		orig[i] = p.Timestamp
	}
	var seq uint16
	round := func(p *rtp.Packet, i int) {
		p.SequenceNumber = seq
		p.Timestamp = orig[i%len(pkts)] + uint32(i/len(pkts))*90000
		seq++
		d.Push(p)
	}
	for i, p := range pkts { // warm up: buffers grow to the largest unit
		round(p, i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		round(pkts[i%len(pkts)], i+len(pkts))
	}
	b.StopTimer()
	if d.Stats().Dropped != 0 {
		b.Fatalf("dropped: %+v", d.Stats())
	}
}
