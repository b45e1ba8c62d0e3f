package sdp

import (
	"net/netip"
	"strings"
)

// Session is one SDP body (RFC 8866 §5) reduced to what a SIP leg needs.
//
// Audio, Video and Slides are the streams the gateway uses (Slides: the
// second video of room systems, a=content:slides, RFC 4796, for content
// sharing); every other m= line (a second audio stream, T.38 "m=image",
// BFCP "m=application", a stream we rejected) is kept in Others, because an answer must repeat every
// offered m= line in the same order (RFC 3264 §6). Each Media records its
// position in Index; [Marshal] writes the lines in that order.
type Session struct {
	Origin Origin
	// Name is the s= line; "-" when empty (RFC 8866 §5.3 requires one).
	Name string
	// ConnAddr is the session-level c= address, invalid when absent.
	ConnAddr netip.Addr
	Audio    *Media
	Video    *Media
	Slides   *Media
	// BFCP is the first active BFCP line (m=application UDP/BFCP or
	// TCP/BFCP, RFC 8856): floor control for the slides.
	BFCP   *Media
	Others []*Media
	// Bitrate is the session-level b=TIAS in bit/s, or b=AS times 1000;
	// 0 if absent. It bounds all streams together (RFC 8866 §5.8).
	Bitrate int
}

// Origin is the o= line (RFC 8866 §5.2). SessionID and SessionVersion
// identify one SDP session; the version grows by one each time the session
// changes (RFC 3264 §8).
type Origin struct {
	Username       string
	SessionID      uint64
	SessionVersion uint64
	// Address is a literal address or a host name; both appear in the wild.
	Address string
}

// Media is one m= section (RFC 8866 §5.14) and its attributes.
//
// Payload types follow RFC 3264 §5.1: the numbers in an SDP body are the ones
// its author wants to receive. So the RTP layer sends with the remote
// Session's payload types and receives with the local Session's.
type Media struct {
	// Index is the position of this m= line in its SDP body, from 0.
	Index int
	// Type is the media type: "audio", "video", "image", "application", ….
	Type string
	// Port is the RTP port; 0 marks a rejected or disabled stream
	// (RFC 3264 §5.1, §6).
	Port int
	// Proto is the transport protocol, such as "RTP/AVP" or "RTP/SAVP".
	Proto string
	// Formats are the m= line format tokens as written. For RTP streams
	// Codecs holds the same payload types decoded; Formats matter for the
	// other streams, which an answer echoes when it rejects them.
	Formats []string
	// Codecs are the media codecs in the order of the m= line, without
	// telephone-event and comfort noise.
	Codecs []Codec
	// TelephoneEvent is the first RFC 4733 telephone-event format, nil if
	// none. TelephoneEvents lists all of them (offers may carry one per
	// clock rate, e.g. 8000 for G.711 and 48000 for Opus).
	TelephoneEvent  *Codec
	TelephoneEvents []Codec
	// Ptime and MaxPtime are the a=ptime and a=maxptime values in ms
	// (RFC 8866 §6.4, §6.5), 0 when absent.
	Ptime    int
	MaxPtime int
	// Direction is the effective direction: the media-level attribute, else
	// the session-level one, else sendrecv (RFC 8866 §6.7).
	Direction Direction
	// Crypto holds the SDES a=crypto lines in order (RFC 4568).
	Crypto []Crypto
	// RTCPMux is set when a=rtcp-mux is present (RFC 5761 §5.1.1).
	RTCPMux bool
	// RTCPPort and RTCPAddr come from a=rtcp (RFC 3605); RTCPPort is 0 when
	// absent, RTCPAddr invalid when a=rtcp named no address.
	RTCPPort int
	RTCPAddr netip.Addr
	// RTCPFb holds the a=rtcp-fb lines (RFC 4585 §4.2), e.g. "* nack pli".
	RTCPFb []RTCPFeedback
	// Addr is the media-level c= address; invalid when absent.
	Addr netip.Addr
	// Bitrate is the b=TIAS value in bit/s, or b=AS times 1000; 0 if absent
	// (RFC 3890, RFC 8866 §5.8).
	Bitrate int
	// Content is the a=content value (RFC 4796), e.g. "main" or "slides".
	Content string
	// Attributes holds the attributes not decoded above, for diagnostics
	// and for callers that need something this package does not model.
	Attributes []Attribute
}

// Attribute is a raw a= line: Key, and Value after the first colon.
type Attribute struct {
	Key, Value string
}

// RTCPFeedback is one a=rtcp-fb line (RFC 4585 §4.2): PT is "*" or a
// payload type number, Type is "nack", "ccm", "goog-remb", …, and Param is
// "pli", "fir", … or empty.
type RTCPFeedback struct {
	PT    string
	Type  string
	Param string
}

// String formats the feedback as in the SDP attribute value.
func (f RTCPFeedback) String() string {
	if f.Param == "" {
		return f.PT + " " + f.Type
	}
	return f.PT + " " + f.Type + " " + f.Param
}

// Rejected reports whether the stream is disabled (port 0, RFC 3264 §6).
func (m *Media) Rejected() bool { return m == nil || m.Port == 0 }

// Secure reports whether the stream uses the SRTP profile (RTP/SAVP or
// RTP/SAVPF, RFC 3711 §12).
func (m *Media) Secure() bool {
	return m != nil && (strings.HasSuffix(m.Proto, "/SAVP") || strings.HasSuffix(m.Proto, "/SAVPF"))
}

// ConnectionAddr is the address media for this stream goes to: the
// media-level c= if present, else the session-level one (RFC 8866 §5.7).
func (s *Session) ConnectionAddr(m *Media) netip.Addr {
	if m != nil && m.Addr.IsValid() {
		return m.Addr
	}
	return s.ConnAddr
}

// RTPAddr is where to send RTP for m. It is invalid when the stream is
// rejected or has no usable address.
func (s *Session) RTPAddr(m *Media) netip.AddrPort {
	a := s.ConnectionAddr(m)
	if m.Rejected() || !a.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a, uint16(m.Port))
}

// RTCPAddr is where to send RTCP for m: the RTP address when RTCP is
// multiplexed (RFC 5761), the a=rtcp port and address when given
// (RFC 3605), else the RTP port plus one (RFC 3550 §11).
func (s *Session) RTCPAddr(m *Media) netip.AddrPort {
	rtp := s.RTPAddr(m)
	switch {
	case !rtp.IsValid():
		return rtp
	case m.RTCPMux:
		return rtp
	case m.RTCPPort != 0:
		a := rtp.Addr()
		if m.RTCPAddr.IsValid() {
			a = m.RTCPAddr
		}
		return netip.AddrPortFrom(a, uint16(m.RTCPPort))
	default:
		return netip.AddrPortFrom(rtp.Addr(), uint16(m.Port+1))
	}
}

// OnHold reports whether the peer asked not to receive media on m: a
// sendonly or inactive direction (RFC 3264 §8.4), or the legacy RFC 2543
// hold with a c= address of 0.0.0.0 that older phones and PBXs still send.
func (s *Session) OnHold(m *Media) bool {
	if m.Rejected() {
		return false
	}
	if m.Direction == DirectionSendOnly || m.Direction == DirectionInactive {
		return true
	}
	a := s.ConnectionAddr(m)
	return a.IsValid() && a.IsUnspecified()
}

// media returns every m= section in Index order.
func (s *Session) media() []*Media {
	all := make([]*Media, 0, 4+len(s.Others))
	for _, m := range []*Media{s.Audio, s.Video, s.Slides, s.BFCP} {
		if m != nil {
			all = append(all, m)
		}
	}
	all = append(all, s.Others...)
	// Insertion sort: a handful of entries, and stable.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && all[j].Index < all[j-1].Index; j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	return all
}

// stream returns pick(s), or nil when s is nil (no previous SDP).
func (s *Session) stream(pick func(*Session) *Media) *Media {
	if s == nil {
		return nil
	}
	return pick(s)
}
