package g711

// The segment arithmetic below is only used to build the lookup tables.

const (
	signBit   = 0x80
	quantMask = 0x0F
	segShift  = 4
	segMask   = 0x70
	ulawBias  = 0x84 // 132: µ-law adds a bias so that segments start on powers of two
	ulawClip  = 8159 // largest 14-bit magnitude before the bias
)

// segment returns the index of the first end point not below v, or
// len(ends) when v is beyond the last segment.
func segment(v int, ends *[8]int) int {
	for i, e := range ends {
		if v <= e {
			return i
		}
	}
	return len(ends)
}

var (
	ulawSegEnds = [8]int{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}
	alawSegEnds = [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}
)

// ulawEncode maps a 16-bit sample to µ-law (G.711 Table 2), working on the
// 14-bit magnitude; the code is transmitted with all bits inverted.
func ulawEncode(s int16) byte {
	v := int(s) >> 2
	mask := 0xFF
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	v = min(v, ulawClip) + ulawBias>>2
	seg := segment(v, &ulawSegEnds)
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	return byte((seg<<segShift | (v>>(seg+1))&quantMask) ^ mask)
}

func ulawDecode(u byte) int16 {
	u = ^u
	t := (int(u&quantMask) << 3) + ulawBias
	t <<= (u & segMask) >> segShift
	if u&signBit != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

// alawEncode maps a 16-bit sample to A-law (G.711 Table 1), working on the
// 13-bit magnitude; even bits are inverted on the line (the 0x55 mask).
func alawEncode(s int16) byte {
	v := int(s) >> 3
	mask := 0xD5
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := segment(v, &alawSegEnds)
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	a := seg << segShift
	if seg < 2 {
		a |= (v >> 1) & quantMask
	} else {
		a |= (v >> seg) & quantMask
	}
	return byte(a ^ mask)
}

func alawDecode(a byte) int16 {
	a ^= 0x55
	t := int(a&quantMask) << 4
	switch seg := int(a&segMask) >> segShift; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&signBit != 0 {
		return int16(t)
	}
	return int16(-t)
}
