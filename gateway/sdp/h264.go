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

// h264Fmtp formats the fmtp of an H.264 format we offer or answer.
func h264Fmtp(idc, iop byte, level H264Level, mode int) string {
	return "profile-level-id=" + profileLevelID(idc, iop, level) +
		";packetization-mode=" + strconv.Itoa(mode) +
		";level-asymmetry-allowed=1"
}
