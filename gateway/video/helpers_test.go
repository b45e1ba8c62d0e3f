package video

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/rtp"
)

// x264Stream is a 320×180, 15 fps constrained-baseline stream made by
// ffmpeg with libx264 (an IDR every 10 frames, an AUD in front of each
// access unit):
//
//	ffmpeg -f lavfi -i testsrc2=size=320x180:rate=15 -frames:v 30 -c:v libx264 \
//	  -profile:v baseline -preset veryfast -bf 0 \
//	  -x264-params aud=1:keyint=10:min-keyint=10:scenecut=0 -b:v 150k \
//	  -f h264 testdata/x264-320x180-15fps.h264
const x264Stream = "x264-320x180-15fps.h264"

// readAUs reads an Annex B file of testdata as access units.
func readAUs(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return SplitAccessUnits(b)
}

// nals lists the NAL units of an access unit, for comparisons that do not
// care about three- or four-byte start codes.
func nals(au []byte) [][]byte {
	var out [][]byte
	for nal, rest := NextNAL(au); nal != nil || rest != nil; nal, rest = NextNAL(rest) {
		if len(nal) > 0 {
			out = append(out, nal)
		}
	}
	return out
}

func sameNALs(a, b []byte) bool {
	na, nb := nals(a), nals(b)
	if len(na) != len(nb) {
		return false
	}
	for i := range na {
		if !bytes.Equal(na[i], nb[i]) {
			return false
		}
	}
	return true
}

// packetsOf packetizes access units (3000 ticks apart: 30 fps) into
// parsed RTP packets.
func packetsOf(t testing.TB, aus [][]byte, cfg PacketizerConfig) []*rtp.Packet {
	t.Helper()
	var pkts []*rtp.Packet
	p, err := NewPacketizer(cfg, func(b []byte) error {
		var pk rtp.Packet
		if err := pk.Unmarshal(append([]byte(nil), b...)); err != nil {
			t.Fatalf("our packet does not parse: %v", err)
		}
		pkts = append(pkts, &pk)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, au := range aus {
		if err := p.Packetize(au, uint32(1000+3000*i)); err != nil {
			t.Fatalf("access unit %d: %v", i, err)
		}
	}
	return pkts
}

// collector gathers what a Depacketizer delivers.
type collector struct {
	aus  [][]byte
	ts   []uint32
	keys []bool
}

func (c *collector) add(au AccessUnit) {
	c.aus = append(c.aus, append([]byte(nil), au.Data...))
	c.ts = append(c.ts, au.Timestamp)
	c.keys = append(c.keys, au.Keyframe)
}

// stripParams removes SPS and PPS NAL units from an access unit.
func stripParams(au []byte) []byte {
	var out []byte
	for _, n := range nals(au) {
		if t := NALType(n); t != NALSPS && t != NALPPS {
			out = append(append(out, startCode...), n...)
		}
	}
	return out
}
