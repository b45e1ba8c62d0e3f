// Package codec names the media codecs of the gateway once, for every layer
// that speaks of them: SDP offer/answer (gateway/sdp), the RTP endpoint's
// quality estimate (gateway/rtp), the media pipeline (gateway/bridge) and the
// test caller. A payload format on an m= line (payload type, fmtp) is
// sdp.Codec; what it carries is an ID, so that no layer keeps its own enum of
// the same codecs.
package codec

import "strings"

// ID identifies a codec. The zero value is Unknown.
type ID uint8

// Codecs the gateway knows.
const (
	Unknown ID = iota
	// PCMU and PCMA are ITU-T G.711 µ-law and A-law (RFC 3551 §4.5.14).
	PCMU
	PCMA
	// G722 is ITU-T G.722 at 64 kbit/s, sampled at 16 kHz but with an
	// 8000 Hz RTP clock (RFC 3551 §4.5.2).
	G722
	// Opus is RFC 6716 audio with a 48 kHz RTP clock (RFC 7587 §4.1).
	Opus
	// H264 is ITU-T H.264 video (RFC 6184).
	H264
	// VP8 is VP8 video (RFC 7741).
	VP8
)

// info is what the package knows of each codec.
type info struct {
	name       string // SDP encoding name as the gateway writes it
	clock      uint32 // RTP clock rate
	rate       int    // PCM sampling rate; 0 for video
	mime       string
	wideband   bool
	frameBytes int // bytes of one 20 ms frame for constant-rate codecs, 0 otherwise
}

var table = [...]info{
	Unknown: {name: "unknown"},
	PCMU:    {name: "PCMU", clock: 8000, rate: 8000, mime: "audio/PCMU", frameBytes: 160},
	PCMA:    {name: "PCMA", clock: 8000, rate: 8000, mime: "audio/PCMA", frameBytes: 160},
	G722:    {name: "G722", clock: 8000, rate: 16000, mime: "audio/G722", wideband: true, frameBytes: 160},
	Opus:    {name: "opus", clock: 48000, rate: 48000, mime: "audio/opus", wideband: true},
	H264:    {name: "H264", clock: 90000, mime: "video/H264"},
	VP8:     {name: "VP8", clock: 90000, mime: "video/VP8"},
}

func (c ID) info() info {
	if int(c) >= len(table) {
		return table[Unknown]
	}
	return table[c]
}

// Parse maps an SDP encoding name (a=rtpmap, RFC 8866 §6.6; compared
// without regard to case, RFC 4855 §3) to its ID, Unknown when the gateway
// does not know it.
func Parse(name string) ID {
	for i := range table {
		if id := ID(i); id != Unknown && strings.EqualFold(table[i].name, name) {
			return id
		}
	}
	return Unknown
}

// ParseMIME maps a media type such as "audio/opus" (as WebRTC tracks name
// their codec) to its ID, case-insensitively.
func ParseMIME(mime string) ID {
	for i := range table {
		if id := ID(i); id != Unknown && strings.EqualFold(table[i].mime, mime) {
			return id
		}
	}
	return Unknown
}

// String is the SDP encoding name, e.g. "PCMU" or "opus".
func (c ID) String() string { return c.info().name }

// MIME is the media type, e.g. "audio/opus"; empty for Unknown.
func (c ID) MIME() string { return c.info().mime }

// ClockRate is the RTP clock rate in Hz; 0 for Unknown.
func (c ID) ClockRate() uint32 { return c.info().clock }

// SampleRate is the PCM rate the codec works at in Hz (16000 for G.722,
// 48000 for Opus); 0 for video and Unknown.
func (c ID) SampleRate() int { return c.info().rate }

// Audio reports whether c is an audio codec.
func (c ID) Audio() bool { return c.info().rate > 0 }

// Video reports whether c is a video codec.
func (c ID) Video() bool { return c != Unknown && c.info().rate == 0 }

// Wideband reports whether c carries more than narrowband (8 kHz) audio.
func (c ID) Wideband() bool { return c.info().wideband }

// TicksPer20ms is how far the RTP timestamp advances over 20 ms.
func (c ID) TicksPer20ms() uint32 { return c.info().clock / 50 }

// FrameBytes is the size of a 20 ms payload of a constant-rate codec
// (G.711, G.722), 0 for variable-rate ones.
func (c ID) FrameBytes() int { return c.info().frameBytes }
