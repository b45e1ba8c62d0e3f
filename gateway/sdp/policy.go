package sdp

import (
	"fmt"
	"net/netip"
)

// SRTPMode says whether a leg may or must use SDES-keyed SRTP (RFC 4568).
type SRTPMode uint8

// SRTP modes. The zero value behaves as SRTPAllow.
const (
	SRTPUnknown SRTPMode = iota
	// SRTPDisable accepts plain RTP only; an RTP/SAVP offer fails with
	// ErrSRTPNotAllowed.
	SRTPDisable
	// SRTPAllow answers SRTP when offered and plain RTP otherwise, and
	// offers plain RTP (an RTP/SAVP offer would fail with devices that do
	// not do SRTP, and SDP capability negotiation, RFC 5939, is rare).
	SRTPAllow
	// SRTPRequire accepts and offers SRTP only; a plain offer fails with
	// ErrSRTPRequired.
	SRTPRequire
)

// String returns the mode's configuration name.
func (m SRTPMode) String() string {
	switch m {
	case SRTPDisable:
		return "disable"
	case SRTPAllow:
		return "allow"
	case SRTPRequire:
		return "require"
	default:
		return "unknown"
	}
}

// ParseSRTPMode maps a configuration value (disable, allow, require) to a
// mode.
func ParseSRTPMode(s string) (SRTPMode, error) {
	switch s {
	case "disable":
		return SRTPDisable, nil
	case "allow":
		return SRTPAllow, nil
	case "require":
		return SRTPRequire, nil
	default:
		return SRTPUnknown, fmt.Errorf("sdp: SRTP mode %q, want disable, allow or require", s)
	}
}

// DefaultAudioCodecs is our audio preference: G.711 first because every SIP
// device has it and it costs nothing to transcode, then G.722 for wideband,
// then Opus (only SIP devices that offer it get it).
var DefaultAudioCodecs = []Codec{PCMU, PCMA, G722, Opus}

// DefaultH264Profiles are the H.264 profiles we accept from room systems:
// the baseline family, which every WebRTC browser decodes.
var DefaultH264Profiles = []H264Profile{H264ConstrainedBaseline, H264Baseline}

// DefaultPtime is the packet time we use when the peer states none (ms).
const DefaultPtime = 20

// Policy is what we are able and willing to do on one SIP leg. It is a
// value: the SIP layer fills one per call from the trunk's configuration
// and the ports the RTP layer reserved.
type Policy struct {
	// Codecs is our audio preference order; DefaultAudioCodecs when empty.
	// The PT of a dynamic codec is the one we offer.
	Codecs []Codec
	// SRTP is the SDES policy; SRTPUnknown behaves as SRTPAllow.
	SRTP SRTPMode
	// Suites is our crypto suite preference; DefaultSuites when empty.
	Suites []CryptoSuite
	// Addr is our media address, written in c= (required).
	Addr netip.Addr
	// AudioPort is our RTP port for audio (required).
	AudioPort int
	// Video enables H.264 video; it also needs VideoPort.
	Video     bool
	VideoPort int
	// H264Profiles are the H.264 profiles we accept, in preference order;
	// DefaultH264Profiles when empty. H264Level is the highest level we
	// receive; DefaultH264Level when 0.
	H264Profiles []H264Profile
	H264Level    H264Level
	// H264MaxMBPS and H264MaxFS, when above what H264Level allows, go into
	// our fmtp as max-mbps and max-fs (RFC 6184 §8.1): what we receive
	// beyond the level, e.g. 1080p (8160 macroblocks) at level 3.1.
	H264MaxMBPS, H264MaxFS int
	// VideoBitrate, in bit/s, is announced with b=TIAS and b=AS on our
	// video stream when not 0.
	VideoBitrate int
	// VideoDirection, when set, is the direction of our video and slides
	// streams instead of Direction: video held (sendonly or inactive)
	// while audio goes on, say while the room has no picture to send.
	VideoDirection Direction
	// Slides accepts (and offers) a second video stream with
	// a=content:slides (RFC 4796) for content sharing, on SlidesPort. It
	// needs Video too. Off, a slides stream is answered with port 0.
	Slides     bool
	SlidesPort int
	// BFCPPort, when not 0, answers an offered UDP/BFCP line (RFC 8856)
	// as its floor control server on this port, next to an accepted
	// slides stream; otherwise BFCP is answered with port 0.
	BFCPPort int
	// RTCPMux accepts (and offers) RTP/RTCP multiplexing (RFC 5761).
	RTCPMux bool
	// Ptime is the packet time in ms when the offer has none; DefaultPtime
	// when 0.
	Ptime int
	// Direction is what we want to do (hold from our side is sendonly);
	// DirectionUnknown means sendrecv.
	Direction Direction
	// Username and SessionName go into o= and s=; "roombridge" and "-"
	// when empty.
	Username    string
	SessionName string
	// Previous is our last SDP in this dialog, for re-INVITEs: the o= line
	// continues it (RFC 3264 §8), our SRTP keys are kept when the suite
	// does not change (RFC 4568 §7.1.4 allows it, and it spares a
	// re-keying glitch), and a re-offer keeps its m= lines (RFC 3264 §8).
	Previous *Session
}

func (p Policy) withDefaults() (Policy, error) {
	if !p.Addr.IsValid() {
		return p, fmt.Errorf("%w: no local address", ErrInvalidPolicy)
	}
	if p.AudioPort <= 0 || p.AudioPort > 65535 || p.VideoPort < 0 || p.VideoPort > 65535 || p.SlidesPort < 0 || p.SlidesPort > 65535 || p.BFCPPort < 0 || p.BFCPPort > 65535 {
		return p, fmt.Errorf("%w: bad ports %d/%d/%d", ErrInvalidPolicy, p.AudioPort, p.VideoPort, p.SlidesPort)
	}
	p.Addr = p.Addr.Unmap()
	if len(p.Codecs) == 0 {
		p.Codecs = DefaultAudioCodecs
	}
	if p.SRTP == SRTPUnknown {
		p.SRTP = SRTPAllow
	}
	if len(p.Suites) == 0 {
		p.Suites = DefaultSuites
	}
	if len(p.H264Profiles) == 0 {
		p.H264Profiles = DefaultH264Profiles
	}
	if p.H264Level == 0 {
		p.H264Level = DefaultH264Level
	}
	if p.Ptime <= 0 {
		p.Ptime = DefaultPtime
	}
	if p.Direction == DirectionUnknown {
		p.Direction = DirectionSendRecv
	}
	if p.VideoDirection == DirectionUnknown {
		p.VideoDirection = p.Direction
	}
	if p.Username == "" {
		p.Username = "roombridge"
	}
	if p.SessionName == "" {
		p.SessionName = "-"
	}
	return p, nil
}

func (p Policy) videoEnabled() bool { return p.Video && p.VideoPort > 0 }

func (p Policy) slidesEnabled() bool { return p.videoEnabled() && p.Slides && p.SlidesPort > 0 }

func (p Policy) suiteOK(s CryptoSuite) bool {
	for _, x := range p.Suites {
		if x == s && s != SuiteUnknown {
			return true
		}
	}
	return false
}
