package video

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/rtp"
)

// Fuzz input for the depacketizer is a run of packets, each a 4-byte
// header (payload length, then flags: bit 0 marker, bit 1 a new
// timestamp, bits 2–7 sequence numbers skipped) and the payload.
func encodePackets(pkts []*rtp.Packet) []byte {
	var out []byte
	for i, p := range pkts {
		flags := byte(0)
		if p.Marker {
			flags |= 1
		}
		if i > 0 && p.Timestamp != pkts[i-1].Timestamp {
			flags |= 2
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(p.Payload)))
		out = append(out, flags, 0)
		out = append(out, p.Payload...)
	}
	return out
}

// FuzzDepacketize feeds arbitrary payloads, markers, timestamps and gaps
// to a Depacketizer (and so to NextNAL, ParseSPS and ParamSets): nothing
// may panic, every access unit delivered must fit the bound, hold a
// slice, and, if a keyframe, carry an SPS and a PPS before its IDR.
// Seeds: the x264 stream of testdata, packetized in both modes, and
// the start of baresip's capture.
func FuzzDepacketize(f *testing.F) {
	aus := readAUs(f, x264Stream)[:12]
	f.Add(encodePackets(packetsOf(f, aus, PacketizerConfig{Mode: 1, MTU: 300})))
	f.Add(encodePackets(packetsOf(f, aus[:3], PacketizerConfig{Mode: 0, MTU: 65535})))
	var baresip []*rtp.Packet
	for _, c := range readPcap(f, "baresip-h264.pcap")[:40] {
		baresip = append(baresip, c.pkt)
	}
	f.Add(encodePackets(baresip))
	f.Add([]byte{0, 3, 1, 0, nalSTAPA, 0, 9})
	f.Fuzz(func(t *testing.T, in []byte) {
		const maxAU = 64 << 10
		d := NewDepacketizer(func(au AccessUnit) {
			if len(au.Data) > maxAU {
				t.Fatalf("access unit of %d bytes", len(au.Data))
			}
			sawSPS, sawPPS, vcl := false, false, false
			for nal, rest := NextNAL(au.Data); nal != nil || rest != nil; nal, rest = NextNAL(rest) {
				switch NALType(nal) {
				case NALSPS:
					sawSPS = true
				case NALPPS:
					sawPPS = true
				case NALIDR:
					if !sawSPS || !sawPPS {
						t.Fatalf("IDR without SPS/PPS before it: %x", au.Data)
					}
				}
				vcl = vcl || isVCL(NALType(nal))
			}
			if !vcl || au.Keyframe != IsKeyframe(au.Data) {
				t.Fatalf("access unit vcl %v keyframe %v: %x", vcl, au.Keyframe, au.Data)
			}
		}, maxAU)
		seq, ts := uint16(0), uint32(0)
		for len(in) >= 4 {
			n := int(binary.BigEndian.Uint16(in))
			flags := in[2]
			in = in[4:]
			n = min(n, len(in))
			seq += 1 + uint16(flags>>2)
			if flags&2 != 0 {
				ts += 3000
			}
			d.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, Marker: flags&1 != 0}, Payload: in[:n]})
			in = in[n:]
		}
		_ = d.Stats()
	})
}

// FuzzParseMediaControl: no input panics; what is accepted has a
// media_control root. Seeds: testdata/media_control.
func FuzzParseMediaControl(f *testing.F) {
	files, _ := filepath.Glob("testdata/media_control/*.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		mc, err := ParseMediaControl(b)
		if err != nil {
			return
		}
		if len(mc.StreamIDs) > 16 {
			t.Fatalf("%d stream ids", len(mc.StreamIDs))
		}
	})
}

// FuzzParseSPS: no SPS panics the parser, and what it accepts has a sane
// picture size.
func FuzzParseSPS(f *testing.F) {
	for _, au := range readAUs(f, x264Stream)[:1] {
		for _, n := range nals(au) {
			if NALType(n) == NALSPS {
				f.Add(n)
			}
		}
	}
	f.Add([]byte{0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSPS(b)
		if err != nil {
			return
		}
		if s.Width <= 0 || s.Height <= 0 || s.Width > 16*maxMBs || s.Height > 16*maxMBs {
			t.Fatalf("picture %d×%d", s.Width, s.Height)
		}
	})
}

// FuzzFIRReceiver: no RTCP a room system sends panics the keyframe
// request parser. Seeds: our own PLI and FIR, a legacy FIR, a receiver
// report with a PLI.
func FuzzFIRReceiver(f *testing.F) {
	pli, _ := BuildPLI(1, 2)
	var fs FIRSender
	fir, _ := fs.Build(1, 2)
	f.Add(pli)
	f.Add(fir)
	f.Add([]byte{0x80, 192, 0, 1, 0, 0, 0, 2})
	f.Add(append([]byte{0x80, 201, 0, 1, 0, 0, 0, 1}, pli...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r FIRReceiver
		_, _ = r.Parse(b, 2)
	})
}
