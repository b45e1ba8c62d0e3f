package video

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pion/rtcp"
)

// TestTMMBRoundTrip: a TMMBR and a TMMBN built here are read back by
// pion/rtcp inside a compound (as raw packets), then by AsTMMB, with
// their entries intact; the wire form matches RFC 5104 §4.2.1.1.
func TestTMMBRoundTrip(t *testing.T) {
	req := &TMMB{Format: FormatTMMBR, SenderSSRC: 0x01020304, Entries: []TMMBEntry{{SSRC: 0xaabbccdd, Bitrate: 256000, Overhead: 40}}}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// 256000 = 128000 << 1: exponent 1, mantissa 128000, overhead 40.
	want := []byte{0x83, 205, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, 0x07, 0xe8, 0x00, 0x28}
	if !bytes.Equal(raw, want) {
		t.Fatalf("TMMBR % x\nwant  % x", raw, want)
	}
	tmmbn := &TMMB{Format: FormatTMMBN, SenderSSRC: 5, Entries: []TMMBEntry{{SSRC: 1, Bitrate: 1_500_000}}}
	compound, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}, req, tmmbn})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := rtcp.Unmarshal(compound)
	if err != nil || len(pkts) != 3 {
		t.Fatalf("pion read %d packets: %v", len(pkts), err)
	}
	got, ok := AsTMMB(pkts[1])
	if !ok || got.Format != FormatTMMBR || got.SenderSSRC != 0x01020304 || len(got.Entries) != 1 || got.Entries[0] != req.Entries[0] {
		t.Fatalf("TMMBR read back as %+v, %v", got, ok)
	}
	n, ok := AsTMMB(pkts[2])
	if !ok || n.Format != FormatTMMBN || n.Entries[0].Bitrate != 1_500_000 {
		t.Fatalf("TMMBN read back as %+v, %v", n, ok)
	}
	if _, ok := AsTMMB(pkts[0]); ok {
		t.Error("a receiver report read as TMMB")
	}
}

// TestMxTBR: bit rates beyond 17 bits of mantissa lose their low bits
// (rounded down, so that a cap never grows), and every encoded value
// decodes to at most what was asked and more than half of it.
func TestMxTBR(t *testing.T) {
	for _, rate := range []uint64{0, 1, 64000, 131071, 131072, 256000, 1_000_001, 2_000_000, 1 << 40, 1<<63 + 12345} {
		got, oh := decodeMxTBR(encodeMxTBR(rate, 0x1ff))
		if got > rate || (rate > 0 && got <= rate/2) || oh != 0x1ff {
			t.Errorf("%d bit/s → %d (overhead %d)", rate, got, oh)
		}
		if rate < 1<<17 && got != rate {
			t.Errorf("%d bit/s not exact: %d", rate, got)
		}
	}
	if r, _ := decodeMxTBR(63<<26 | maxMantissa<<9); r != ^uint64(0) {
		t.Errorf("the largest MxTBR decodes to %d, want saturation", r)
	}
}

// TestTMMBMalformed: short, mis-sized, wrongly padded and foreign packets
// are refused with ErrMalformed.
func TestTMMBMalformed(t *testing.T) {
	good, _ := (&TMMB{Format: FormatTMMBR, Entries: []TMMBEntry{{SSRC: 1, Bitrate: 1000}}}).Marshal()
	for name, b := range map[string][]byte{
		"short":    good[:8],
		"length":   append(append([]byte{}, good[:3]...), append([]byte{9}, good[4:]...)...),
		"fci":      append(append([]byte{good[0], good[1], 0, 3}, good[4:12]...), 1, 2, 3, 4),
		"format":   append([]byte{0x81}, good[1:]...),
		"version":  append([]byte{0x43}, good[1:]...),
		"padding0": append([]byte{0xa3}, append(append([]byte{}, good[1:len(good)-1]...), 0)...),
	} {
		if err := new(TMMB).Unmarshal(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := (&TMMB{Format: 7}).Marshal(); !errors.Is(err, ErrMalformed) {
		t.Errorf("format 7 marshalled: %v", err)
	}
}

// TestBitrateRequests: a compound with a REMB naming our stream, a REMB
// about another, a TMMBR with entries for ours and another's, and a PLI
// yields the two limits on ours, the TMMBR's with its entry.
func TestBitrateRequests(t *testing.T) {
	const ours = 0x1234
	tm := &TMMB{Format: FormatTMMBR, SenderSSRC: 9, Entries: []TMMBEntry{{SSRC: 77, Bitrate: 1}, {SSRC: ours, Bitrate: 300000, Overhead: 28}}}
	compound, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 9},
		&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 9, Bitrate: 500000, SSRCs: []uint32{ours}},
		&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 9, Bitrate: 1000, SSRCs: []uint32{77}},
		tm,
		&rtcp.PictureLossIndication{SenderSSRC: 9, MediaSSRC: ours},
	})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := rtcp.Unmarshal(compound)
	if err != nil {
		t.Fatal(err)
	}
	got := BitrateRequests(pkts, ours)
	if len(got) != 2 || got[0].Bitrate != 500000 || got[0].TMMBR ||
		!got[1].TMMBR || got[1].Bitrate != 300000 || got[1].Entry != (TMMBEntry{SSRC: ours, Bitrate: 300000, Overhead: 28}) || got[1].From != 9 {
		t.Fatalf("requests %+v", got)
	}
}

// FuzzTMMB: any bytes either fail with ErrMalformed or read as a TMMBR
// or TMMBN that marshals again to a packet that reads the same.
func FuzzTMMB(f *testing.F) {
	good, _ := (&TMMB{Format: FormatTMMBR, SenderSSRC: 3, Entries: []TMMBEntry{{SSRC: 1, Bitrate: 256000, Overhead: 40}}}).Marshal()
	f.Add(good)
	n, _ := (&TMMB{Format: FormatTMMBN, SenderSSRC: 3}).Marshal()
	f.Add(n)
	f.Add([]byte{0xa3, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p TMMB
		if err := p.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var q TMMB
		if err := q.Unmarshal(out); err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if q.Format != p.Format || q.SenderSSRC != p.SenderSSRC || len(q.Entries) != len(p.Entries) {
			t.Fatalf("%+v became %+v", p, q)
		}
		for i := range q.Entries {
			if q.Entries[i].SSRC != p.Entries[i].SSRC || q.Entries[i].Bitrate > p.Entries[i].Bitrate {
				t.Fatalf("entry %d: %+v became %+v", i, p.Entries[i], q.Entries[i])
			}
		}
		_, _ = AsTMMB(rtcpRaw(b))
	})
}

func rtcpRaw(b []byte) rtcp.Packet { r := rtcp.RawPacket(b); return &r }
