package sdp

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// H264Profile is an H.264 profile as signalled by the profile_idc and
// profile-iop bytes of profile-level-id (RFC 6184 §8.1).
type H264Profile uint8

// H.264 profiles that matter for SIP room systems and browsers. The zero
// value is a profile this package does not classify.
const (
	H264ProfileUnknown H264Profile = iota
	H264ConstrainedBaseline
	H264Baseline
	H264Main
	H264ConstrainedHigh
	H264High
)

// String returns a readable profile name.
func (p H264Profile) String() string {
	switch p {
	case H264ConstrainedBaseline:
		return "constrained-baseline"
	case H264Baseline:
		return "baseline"
	case H264Main:
		return "main"
	case H264ConstrainedHigh:
		return "constrained-high"
	case H264High:
		return "high"
	default:
		return "unknown"
	}
}

// profileIDC is the profile_idc byte we write for a profile.
func (p H264Profile) profileIDC() (idc, iop byte) {
	switch p {
	case H264Baseline:
		return 0x42, 0x00
	case H264Main:
		return 0x4d, 0x00
	case H264ConstrainedHigh:
		return 0x64, 0x0c
	case H264High:
		return 0x64, 0x00
	default:
		return 0x42, 0xe0 // constrained baseline
	}
}

// H264Level is level_idc, ten times the H.264 level number (31 = 3.1), as
// in profile-level-id (RFC 6184 §8.1).
type H264Level uint8

// DefaultH264Level is level 3.1: 720p at 30 fps, what room systems and
// browsers all handle.
const DefaultH264Level H264Level = 31

// H264Params is the decoded fmtp of an H.264 format (RFC 6184 §8.1).
type H264Params struct {
	Profile H264Profile
	// ProfileIDC and ProfileIOP are the raw first two bytes of
	// profile-level-id, so an answer can echo the offered profile exactly.
	ProfileIDC, ProfileIOP byte
	Level                  H264Level
	// PacketizationMode is 0 (single NAL unit), 1 (non-interleaved) or 2
	// (interleaved); 0 when absent (RFC 6184 §8.1).
	PacketizationMode int
	// LevelAsymmetryAllowed is level-asymmetry-allowed=1 (RFC 6184 §8.2.2).
	LevelAsymmetryAllowed bool
	// MaxMBPS (macroblocks per second), MaxFS (macroblocks per frame),
	// MaxBR (kbit/s, cpbBrVclFactor units) and MaxFPS (hundredths of a
	// frame per second) raise what the level allows (RFC 6184 §8.1):
	// room systems signal 1080p this way while saying level 2.2 or 3.1.
	// 0 when absent. [H264Params.Limits] folds them in.
	MaxMBPS, MaxFS, MaxBR, MaxFPS int
	// SpropParameterSets is the sprop-parameter-sets value as given: the
	// sender's SPS and PPS, base64, for a receiver that starts without
	// them in band.
	SpropParameterSets string
}

// H264Limits is what a receiver decodes, from its level (H.264 table A-1)
// raised by the max-* parameters of its fmtp.
type H264Limits struct {
	// MBPS is the macroblocks per second, FS the macroblocks per frame
	// (a 16×16-pixel macroblock; 1280×720 is 3600), Bitrate in bit/s.
	MBPS, FS, Bitrate int
}

// h264Levels is H.264 table A-1 (MaxMBPS, MaxFS, MaxBR in kbit/s for the
// baseline and main profiles) by level_idc; level 1b is level_idc 11 with
// constraint_set3 in the baseline profiles, or 9.
var h264Levels = map[H264Level]H264Limits{
	9:  {1485, 99, 128},
	10: {1485, 99, 64},
	11: {3000, 396, 192},
	12: {6000, 396, 384},
	13: {11880, 396, 768},
	20: {11880, 396, 2000},
	21: {19800, 792, 4000},
	22: {20250, 1620, 4000},
	30: {40500, 1620, 10000},
	31: {108000, 3600, 14000},
	32: {216000, 5120, 20000},
	40: {245760, 8192, 20000},
	41: {245760, 8192, 50000},
	42: {522240, 8704, 50000},
	50: {589824, 22080, 135000},
	51: {983040, 36864, 240000},
	52: {2073600, 36864, 240000},
	60: {4177920, 139264, 240000},
	61: {8355840, 139264, 480000},
	62: {16711680, 139264, 800000},
}

// Limits returns what the side that wrote these parameters receives: the
// limits of its level (level 1b recognised), each raised by max-mbps,
// max-fs and max-br where those are higher. An unknown level counts as
// level 1. The sender of a stream to that side must stay within them:
// a picture of at most FS macroblocks, FS × frame rate ≤ MBPS.
func (p H264Params) Limits() H264Limits {
	level := p.Level
	if level == 11 && p.ProfileIDC == 0x42 && p.ProfileIOP&0x10 != 0 {
		level = 9 // level 1b (RFC 6184 §8.1)
	}
	l, ok := h264Levels[level]
	if !ok {
		l = h264Levels[10]
	}
	l.Bitrate *= 1000
	l.MBPS = max(l.MBPS, p.MaxMBPS)
	l.FS = max(l.FS, p.MaxFS)
	l.Bitrate = max(l.Bitrate, p.MaxBR*1000)
	return l
}

// ParseH264Fmtp decodes an H.264 fmtp string. A missing profile-level-id
// means 420010, constrained baseline level 1 (RFC 6184 §8.1). ok is false
// when profile-level-id or packetization-mode cannot be decoded.
func ParseH264Fmtp(fmtp string) (p H264Params, ok bool) {
	p.ProfileIDC, p.ProfileIOP, p.Level = 0x42, 0x00, 10
	if v, found := fmtpParam(fmtp, "profile-level-id"); found {
		b, err := hex.DecodeString(v)
		if err != nil || len(b) != 3 {
			return p, false
		}
		p.ProfileIDC, p.ProfileIOP, p.Level = b[0], b[1], H264Level(b[2])
	}
	p.Profile = classifyH264(p.ProfileIDC, p.ProfileIOP)
	if v, found := fmtpParam(fmtp, "packetization-mode"); found {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 2 {
			return p, false
		}
		p.PacketizationMode = n
	}
	if v, found := fmtpParam(fmtp, "level-asymmetry-allowed"); found {
		p.LevelAsymmetryAllowed = v == "1"
	}
	// Malformed max-* values are ignored rather than failing the format:
	// they only raise limits.
	for key, dst := range map[string]*int{"max-mbps": &p.MaxMBPS, "max-fs": &p.MaxFS, "max-br": &p.MaxBR, "max-fps": &p.MaxFPS} {
		if v, found := fmtpParam(fmtp, key); found {
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 1<<30 {
				*dst = n
			}
		}
	}
	p.SpropParameterSets, _ = fmtpParam(fmtp, "sprop-parameter-sets")
	return p, true
}

// classifyH264 maps profile_idc and profile-iop to a profile, following the
// constraint-flag patterns of RFC 6184 §8.1 table 5 (the same table
// libwebrtc uses): for example 42e01f and 4d401f are constrained baseline,
// 42801e is baseline, 640c1f constrained high.
func classifyH264(idc, iop byte) H264Profile {
	const (
		set0 = 0x80
		set1 = 0x40
		set3 = 0x10
	)
	// Flags that do not tell profiles apart are ignored, so that devices
	// setting extra constraint flags still classify.
	switch idc {
	case 0x42:
		if iop&set1 != 0 {
			return H264ConstrainedBaseline
		}
		return H264Baseline
	case 0x4d:
		if iop&set0 != 0 {
			return H264ConstrainedBaseline
		}
		return H264Main
	case 0x58:
		if iop&(set0|set1) == set0|set1 {
			return H264ConstrainedBaseline
		}
		if iop&set0 != 0 {
			return H264Baseline
		}
	case 0x64:
		switch iop &^ set3 {
		case 0x0c:
			return H264ConstrainedHigh
		case 0x00:
			return H264High
		}
	}
	return H264ProfileUnknown
}

// profileLevelID formats profile-level-id from its three bytes.
func profileLevelID(idc, iop byte, level H264Level) string {
	return strings.ToLower(hex.EncodeToString([]byte{idc, iop, byte(level)}))
}

// h264Fmtp formats the fmtp of an H.264 format we offer or answer, with
// max-mbps and max-fs when the policy receives more than the level says
// (RFC 6184 §8.1; only values above the level's are allowed).
func h264Fmtp(idc, iop byte, level H264Level, mode int, p Policy) string {
	s := "profile-level-id=" + profileLevelID(idc, iop, level) +
		";packetization-mode=" + strconv.Itoa(mode) +
		";level-asymmetry-allowed=1"
	lim := H264Params{Level: level, ProfileIDC: idc, ProfileIOP: iop}.Limits()
	if p.H264MaxMBPS > lim.MBPS {
		s += ";max-mbps=" + strconv.Itoa(p.H264MaxMBPS)
	}
	if p.H264MaxFS > lim.FS {
		s += ";max-fs=" + strconv.Itoa(p.H264MaxFS)
	}
	return s
}

// H264 returns the H.264 parameters of the stream's first codec, for a
// negotiated stream (ours: what we receive; the peer's: what it
// receives). ok is false when that codec is not H.264 or its fmtp is
// unreadable.
func (m *Media) H264() (H264Params, bool) {
	if m == nil || len(m.Codecs) == 0 || !strings.EqualFold(m.Codecs[0].Name, "H264") {
		return H264Params{}, false
	}
	return ParseH264Fmtp(m.Codecs[0].Fmtp)
}

// Codec returns the codec with payload type pt.
func (m *Media) Codec(pt uint8) (Codec, bool) {
	if m == nil {
		return Codec{}, false
	}
	for _, c := range m.Codecs {
		if c.PT == pt {
			return c, true
		}
	}
	return Codec{}, false
}
