package video

import "bytes"

// NAL unit types (H.264 §7.4.1 table 7-1) and RTP payload structure types
// (RFC 6184 §5.2 table 1).
const (
	NALSlice = 1  // coded slice of a non-IDR picture
	NALIDR   = 5  // coded slice of an IDR picture
	NALSEI   = 6  // supplemental enhancement information
	NALSPS   = 7  // sequence parameter set
	NALPPS   = 8  // picture parameter set
	NALAUD   = 9  // access unit delimiter
	nalSTAPA = 24 // single-time aggregation packet
	nalSTAPB = 25
	nalMTAP  = 26 // 26 and 27: multi-time aggregation packets
	nalFUA   = 28 // fragmentation unit
	nalFUB   = 29
)

// NALType returns the nal_unit_type of a NAL unit (or RTP payload), 0 for
// an empty one.
func NALType(nal []byte) uint8 {
	if len(nal) == 0 {
		return 0
	}
	return nal[0] & 0x1f
}

// isVCL reports whether a NAL unit type carries picture data (a slice).
func isVCL(t uint8) bool { return t >= 1 && t <= 5 }

// startCode is the Annex B prefix this package writes.
var startCode = []byte{0, 0, 0, 1}

var startCode3 = []byte{0, 0, 1}

// NextNAL returns the first NAL unit of an Annex B byte stream and the rest
// of the stream (H.264 Annex B.2). Bytes before the first start code count
// as a NAL unit, so a lone NAL unit without a prefix comes back whole;
// trailing zero bytes (a following four-byte start code, or
// trailing_zero_8bits) are not part of the NAL unit. It allocates nothing.
func NextNAL(b []byte) (nal, rest []byte) {
	for {
		if len(b) == 0 {
			return nil, nil
		}
		start := bytes.Index(b, startCode3)
		switch {
		case start < 0:
			return trimZeros(b), nil
		case start > 0 && !allZero(b[:start]):
			// Data before the first start code: a NAL unit without a prefix.
			return trimZeros(b[:start]), b[start:]
		}
		b = b[start+3:]
		end := bytes.Index(b, startCode3)
		if end < 0 {
			nal, rest = trimZeros(b), nil
		} else {
			nal, rest = trimZeros(b[:end]), b[end:]
		}
		if len(nal) > 0 || rest == nil {
			return nal, rest
		}
		b = rest // an empty NAL unit between two start codes
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// IsKeyframe reports whether an Annex B access unit holds an IDR slice.
func IsKeyframe(au []byte) bool {
	for nal, rest := NextNAL(au); nal != nil || rest != nil; nal, rest = NextNAL(rest) {
		if NALType(nal) == NALIDR {
			return true
		}
	}
	return false
}

// SplitAccessUnits cuts an Annex B elementary stream (an .h264 file) into
// access units, by the rules of H.264 §7.4.1.2.3: a new access unit
// begins at an access unit delimiter, at an SPS, PPS or SEI that follows
// a slice, or at a slice whose first_mb_in_slice is 0 after another
// slice. The access units are sub-slices of b.
func SplitAccessUnits(b []byte) [][]byte {
	var aus [][]byte
	start, sawVCL := -1, false
	for nal, rest := NextNAL(b); nal != nil || rest != nil; nal, rest = NextNAL(rest) {
		if len(nal) == 0 {
			continue
		}
		t := NALType(nal)
		begins := false
		switch {
		case t == NALAUD:
			begins = true
		case t == NALSPS || t == NALPPS || t == NALSEI:
			begins = sawVCL
		case isVCL(t):
			r := newBitReader(nal[1:])
			begins = sawVCL && r.ue() == 0
		}
		at := prefixStart(b, nal)
		if begins && start >= 0 {
			aus = append(aus, b[start:at])
			start, sawVCL = -1, false
		}
		if start < 0 {
			start = at
		}
		sawVCL = sawVCL || isVCL(t)
	}
	if start >= 0 {
		aus = append(aus, b[start:])
	}
	return aus
}
