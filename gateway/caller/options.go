package caller

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// Codec is the audio codec the caller offers (only that one): one of the
// gateway's codec identities, of which the caller runs PCMU, PCMA and G722.
type Codec = codec.ID

// Codecs the caller runs. The zero value means PCMU.
const (
	CodecUnknown = codec.Unknown
	CodecPCMU    = codec.PCMU
	CodecPCMA    = codec.PCMA
	CodecG722    = codec.G722
)

// ParseCodec maps "pcmu", "pcma" or "g722" (any case, and the usual
// aliases) to a Codec.
func ParseCodec(s string) (Codec, error) {
	switch strings.ToLower(s) {
	case "ulaw", "g711u":
		return CodecPCMU, nil
	case "alaw", "g711a":
		return CodecPCMA, nil
	}
	if c := codec.Parse(s); runs(c) {
		return c, nil
	}
	return CodecUnknown, fmt.Errorf("%w: codec %q (want pcmu, pcma or g722)", ErrInvalidOptions, s)
}

// runs reports whether the caller can run c.
func runs(c Codec) bool { return c == CodecPCMU || c == CodecPCMA || c == CodecG722 }

// sdpCodec is the payload format the caller offers for c.
func sdpCodec(c Codec) sdp.Codec {
	switch c {
	case CodecPCMA:
		return sdp.PCMA
	case CodecG722:
		return sdp.G722
	}
	return sdp.PCMU
}

// DTMFMode is how digits are sent.
type DTMFMode uint8

// DTMF modes. The zero value means RFC 4733.
const (
	DTMFUnknown DTMFMode = iota
	// DTMFRFC4733 sends telephone-event RTP packets (RFC 4733 §2).
	DTMFRFC4733
	// DTMFInfo sends SIP INFO with application/dtmf-relay bodies.
	DTMFInfo
)

// ParseDTMFMode maps "rfc4733" (or "rtp") and "info" to a DTMFMode.
func ParseDTMFMode(s string) (DTMFMode, error) {
	switch strings.ToLower(s) {
	case "rfc4733", "rfc2833", "rtp":
		return DTMFRFC4733, nil
	case "info", "sip-info":
		return DTMFInfo, nil
	}
	return DTMFUnknown, fmt.Errorf("%w: DTMF mode %q (want rfc4733 or info)", ErrInvalidOptions, s)
}

// String returns the mode's name.
func (m DTMFMode) String() string {
	switch m {
	case DTMFRFC4733:
		return "rfc4733"
	case DTMFInfo:
		return "info"
	}
	return "unknown"
}

// Defaults for Options fields left zero.
const (
	DefaultDuration     = 10 * time.Second
	DefaultDTMFDelay    = time.Second
	DefaultDTMFDuration = 100 * time.Millisecond
	DefaultDTMFGap      = 100 * time.Millisecond
	DefaultToneLevel    = -10.0 // dBFS peak
	DefaultPortMin      = 20000
	DefaultPortMax      = 39999
)

// Options script one call. Zero fields take the defaults above.
type Options struct {
	// Target is the SIP URI to call (required); Transport overrides its
	// transport parameter.
	Target    string
	Transport uac.Transport

	// Codec is the one audio codec offered; SRTP offers RTP/SAVP with an
	// SDES key (RFC 4568) and requires it.
	Codec Codec
	SRTP  bool

	// Tone is the frequency in Hz of a sine to send, at ToneLevel dBFS
	// peak. Play, or the WAV file at PlayPath, is sent instead when set
	// (8 or 16 kHz mono 16-bit, resampled to the codec's rate), once or,
	// with Loop, over and over. With neither, the caller sends silence.
	Tone      float64
	ToneLevel float64
	Play      *WAV
	PlayPath  string
	Loop      bool

	// DTMF is the digits to send (0-9, *, #, A-D), DTMFDelay after media
	// starts to arrive (or after the answer if none arrives), each
	// DTMFDuration long with DTMFGap between them, by DTMFVia.
	DTMF         string
	DTMFVia      DTMFMode
	DTMFDelay    time.Duration
	DTMFDuration time.Duration
	DTMFGap      time.Duration

	// Record, when set, is the path of a WAV file of what the caller
	// heard, at the codec's sample rate.
	Record string

	// Duration is how long the call stays up once answered.
	Duration time.Duration
	// RTPTimeout, when positive, hangs up after that long without RTP or
	// RTCP from the far end, as a phone does when its gateway died
	// (Report.MediaTimeout); zero waits for Duration whatever arrives.
	RTPTimeout time.Duration

	// LocalIP is our address for SIP and RTP; zero picks the one the
	// system routes to the target from.
	LocalIP netip.Addr
	// PortMin and PortMax bound the RTP ports; Ports, when set, is a pool
	// shared with other callers (the load generator) and wins over them.
	PortMin, PortMax uint16
	Ports            *rtp.PortPool
	// RTCPInterval is the mean RTCP report interval; rtp's default when
	// zero. Short calls need a short one to measure the round-trip time.
	RTCPInterval time.Duration

	// From is the user part of our From URI (the caller's number); empty
	// means uac's default. FromName is its display name.
	From, FromName string
	// Headers are added to the INVITE (uac.CheckHeader says which may).
	Headers []uac.Header

	// Username and Password answer a digest challenge.
	Username, Password string
	// TLSConfig and Insecure are for TLS (Insecure skips certificate
	// verification).
	TLSConfig *tls.Config
	Insecure  bool

	// Logger gets the call's logs; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Target == "" {
		return o, fmt.Errorf("%w: empty Target", ErrInvalidOptions)
	}
	if o.Codec == CodecUnknown {
		o.Codec = CodecPCMU
	}
	if !runs(o.Codec) {
		return o, fmt.Errorf("%w: Codec %d", ErrInvalidOptions, o.Codec)
	}
	if o.DTMFVia == DTMFUnknown {
		o.DTMFVia = DTMFRFC4733
	}
	for _, r := range o.DTMF {
		if _, ok := dtmfEvent(r); !ok {
			return o, fmt.Errorf("%w: DTMF digit %q", ErrInvalidOptions, r)
		}
	}
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.DTMFDelay <= 0 {
		o.DTMFDelay = DefaultDTMFDelay
	}
	if o.DTMFDuration <= 0 {
		o.DTMFDuration = DefaultDTMFDuration
	}
	if o.DTMFGap <= 0 {
		o.DTMFGap = DefaultDTMFGap
	}
	if o.ToneLevel == 0 {
		o.ToneLevel = DefaultToneLevel
	}
	if o.Tone < 0 || o.Tone >= float64(o.Codec.SampleRate())/2 {
		return o, fmt.Errorf("%w: Tone %g Hz", ErrInvalidOptions, o.Tone)
	}
	if o.RTPTimeout < 0 {
		return o, fmt.Errorf("%w: RTPTimeout %v", ErrInvalidOptions, o.RTPTimeout)
	}
	if o.PortMin == 0 && o.PortMax == 0 {
		o.PortMin, o.PortMax = DefaultPortMin, DefaultPortMax
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
