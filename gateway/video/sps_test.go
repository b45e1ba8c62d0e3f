package video

import (
	"encoding/hex"
	"errors"
	"testing"
)

func TestParseSPS(t *testing.T) {
	tests := []struct {
		name, hex     string
		profile, lvl  uint8
		width, height int
		fps           float64
	}{
		// x264 high profile (scaling matrices off, 8x8 transform on),
		// 1920×1080 cropped from 1088, VUI timing for 30 fps.
		{"x264 high 1080p", "67640028acd940780227e5c044000003000400000300f03c60c658", 100, 40, 1920, 1080, 30},
		// Chromium's OpenH264 constrained baseline 640×480 (no VUI).
		{"openh264 cb 640x480", "6742c01e8c8d40501e900f08846a", 66, 30, 640, 480, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.hex)
			s, err := ParseSPS(b)
			if err != nil {
				t.Fatal(err)
			}
			if s.ProfileIDC != tc.profile || s.LevelIDC != tc.lvl || s.Width != tc.width || s.Height != tc.height || s.FrameRate != tc.fps {
				t.Errorf("got %+v", s)
			}
		})
	}
	// The committed x264 stream: 320×180 is cropped from 320×192.
	au := readAUs(t, x264Stream)[0]
	for _, n := range nals(au) {
		if NALType(n) == NALSPS {
			s, err := ParseSPS(n)
			if err != nil || s.Width != 320 || s.Height != 180 || s.ProfileIDC != 66 || s.FrameRate != 15 {
				t.Errorf("x264 stream SPS: %+v %v", s, err)
			}
		}
	}
}

func TestParseSPSBad(t *testing.T) {
	good, _ := hex.DecodeString("67640028acd940780227e5c044000003000400000300f03c60c658")
	// Every cut before the end of the picture size fails; the first cut
	// that parses has lost its VUI, which costs only the frame rate.
	n := 0
	for ; n < len(good); n++ {
		if _, err := ParseSPS(good[:n]); !errors.Is(err, ErrMalformed) {
			break
		}
	}
	if n < 8 {
		t.Errorf("SPS cut to %d bytes parses", n)
	}
	if s, err := ParseSPS(good[:n]); err != nil || s.Width != 1920 || s.Height != 1080 || s.FrameRate != 0 {
		t.Errorf("SPS cut to %d bytes: %+v %v", n, s, err)
	}
	// 10-bit high profile: unsupported, not malformed.
	// High 10: sps_id 0, chroma_format_idc 1, bit_depth_luma_minus8 2.
	tenBit := append([]byte{0x67, 0x6e, 0x00, 0x28}, 0b1_010_011_0, 0b11_000000)
	if _, err := ParseSPS(tenBit); !errors.Is(err, ErrUnsupported) {
		t.Errorf("10-bit SPS: %v", err)
	}
	if _, err := ParseSPS([]byte{0x68, 0xce, 0x3c, 0x80}); !errors.Is(err, ErrMalformed) {
		t.Errorf("PPS as SPS: %v", err)
	}
}

// TestSplitAccessUnits cuts the x264 stream by its AUDs and, with the AUDs
// taken out, by its parameter sets and first_mb_in_slice.
func TestSplitAccessUnits(t *testing.T) {
	aus := readAUs(t, x264Stream)
	if len(aus) != 30 {
		t.Fatalf("%d access units", len(aus))
	}
	var noAUD []byte
	for _, au := range aus {
		n := nals(au)
		if NALType(n[0]) != NALAUD {
			t.Fatalf("access unit starts with %d", NALType(n[0]))
		}
		for _, x := range n[1:] {
			noAUD = append(append(noAUD, 0, 0, 1), x...)
		}
	}
	again := SplitAccessUnits(noAUD)
	if len(again) != 30 {
		t.Fatalf("without AUDs: %d access units", len(again))
	}
	for i := range again {
		if !sameNALs(again[i], stripAUD(aus[i])) {
			t.Errorf("access unit %d differs", i)
		}
	}
	if SplitAccessUnits(nil) != nil {
		t.Error("nil stream")
	}
}

func stripAUD(au []byte) []byte {
	var out []byte
	for _, n := range nals(au) {
		if NALType(n) != NALAUD {
			out = append(append(out, startCode...), n...)
		}
	}
	return out
}
