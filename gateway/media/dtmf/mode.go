package dtmf

import (
	"fmt"
	"strings"
)

// Source is where a digit came from.
type Source uint8

// The digit sources.
const (
	SourceUnknown Source = iota
	SourceRFC4733        // telephone-event RTP packets (RFC 4733)
	SourceINFO           // SIP INFO, application/dtmf-relay or application/dtmf
	SourceInband         // tones in the audio, found by a Detector
	numSources
)

func (s Source) String() string {
	switch s {
	case SourceRFC4733:
		return "rfc4733"
	case SourceINFO:
		return "info"
	case SourceInband:
		return "inband"
	}
	return "unknown"
}

// Mode is a trunk's choice of DTMF sources, from configuration.
type Mode uint8

// The modes. ModeAuto is the default.
const (
	ModeUnknown Mode = iota
	ModeAuto         // RFC 4733 and INFO; in-band only when the peer has no telephone-event
	ModeRFC4733      // RFC 4733 only
	ModeINFO         // SIP INFO only
	ModeInband       // in-band tones only
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeRFC4733:
		return "rfc4733"
	case ModeINFO:
		return "info"
	case ModeInband:
		return "inband"
	}
	return "unknown"
}

// ParseMode reads a mode name, case-insensitively: auto (also empty),
// rfc4733 (or rfc2833, the RFC it replaced), info (or sip-info), inband (or
// in-band).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return ModeAuto, nil
	case "rfc4733", "rfc2833":
		return ModeRFC4733, nil
	case "info", "sip-info", "sipinfo":
		return ModeINFO, nil
	case "inband", "in-band":
		return ModeInband, nil
	}
	return ModeUnknown, fmt.Errorf("%w: %q (want auto, rfc4733, info or inband)", ErrUnknownMode, s)
}

// MarshalText implements encoding.TextMarshaler for configuration files.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseMode.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Inband reports whether a call in mode m runs the in-band Detector, given
// whether the peer's SDP offered telephone-event. In auto mode it runs only
// without telephone-event: a trunk with RFC 4733 signals its presses that
// way, and the detector would then only add cost and talk-off risk.
func (m Mode) Inband(peerTelephoneEvent bool) bool {
	return m == ModeInband || (m == ModeAuto && !peerTelephoneEvent)
}

// Accepts reports whether digits from src are used in mode m. Auto accepts
// RFC 4733 and INFO always (a trunk sends what it can, and the Merger
// removes doubles) and in-band as Inband says.
func (m Mode) Accepts(src Source, peerTelephoneEvent bool) bool {
	switch m {
	case ModeAuto:
		return src == SourceRFC4733 || src == SourceINFO || (src == SourceInband && !peerTelephoneEvent)
	case ModeRFC4733:
		return src == SourceRFC4733
	case ModeINFO:
		return src == SourceINFO
	case ModeInband:
		return src == SourceInband
	}
	return false
}
