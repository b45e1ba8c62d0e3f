package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// MaxSize bounds the SDP bodies Parse accepts. SIP bodies over UDP stay far
// below it; the bound only keeps a hostile peer from making us work.
const MaxSize = 64 << 10

// Parse decodes an SDP body received from a SIP peer (an offer or an
// answer).
//
// It is tolerant of what real devices send (see normalize) and strict on
// what the media path depends on: an active RTP stream needs an IP literal
// connection address (media-level c= overriding the session-level one,
// RFC 8866 §5.7) and valid payload type numbers. Errors wrap ErrMalformed.
// A body without audio parses; [Answer] reports it with ErrNoAudio.
func Parse(b []byte) (*Session, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: body of %d bytes exceeds %d", ErrMalformed, len(b), MaxSize)
	}
	n, err := normalize(b)
	if err != nil {
		return nil, err
	}
	var d psdp.SessionDescription
	if err := d.UnmarshalString(n.text); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(d.MediaDescriptions) != len(n.mlines) {
		return nil, fmt.Errorf("%w: %d m= lines, parsed %d", ErrMalformed, len(n.mlines), len(d.MediaDescriptions))
	}

	s := &Session{
		Origin: Origin{
			Username:       d.Origin.Username,
			SessionID:      d.Origin.SessionID,
			SessionVersion: d.Origin.SessionVersion,
			Address:        d.Origin.UnicastAddress,
		},
		Name: string(d.SessionName),
	}
	if s.ConnAddr, err = connAddr(d.ConnectionInformation); err != nil {
		return nil, err
	}
	s.Bitrate = bandwidth(d.Bandwidth)
	sessionDir := DirectionUnknown
	for _, a := range d.Attributes {
		if dir := parseDirection(a.Key); dir != DirectionUnknown {
			sessionDir = dir
		}
	}

	for i, md := range d.MediaDescriptions {
		m, err := parseMedia(i, n.mlines[i], md, sessionDir)
		if err != nil {
			return nil, fmt.Errorf("m= line %d (%s): %w", i+1, n.mlines[i].media, err)
		}
		if !m.Rejected() && isRTP(m.Proto) && !s.ConnectionAddr(m).IsValid() {
			return nil, fmt.Errorf("%w: m= line %d (%s) has no c= address", ErrMalformed, i+1, m.Type)
		}
		s.place(m)
	}
	return s, nil
}

// place files m as the session's audio, video or slides stream, or among
// Others. The first active audio stream is the audio; the first active
// video stream that is not slides is the video; the first active video
// stream with a=content:slides (RFC 4796: Cisco, Poly and Yealink offer it
// for content sharing, floor-controlled by BFCP) is the slides; the
// first active BFCP line, a UDP one before TCP, is the BFCP.
func (s *Session) place(m *Media) {
	switch {
	case m.Type == "audio" && s.Audio == nil && !m.Rejected():
		s.Audio = m
	case m.Type == "video" && s.Video == nil && !m.Rejected() && m.Content != "slides":
		s.Video = m
	case m.Type == "video" && s.Slides == nil && !m.Rejected() && m.Content == "slides":
		s.Slides = m
	case m.IsBFCP() && s.BFCP == nil && !m.Rejected():
		s.BFCP = m
	case m.IsBFCP() && m.Proto == "UDP/BFCP" && s.BFCP != nil && s.BFCP.Proto != "UDP/BFCP" && !m.Rejected():
		// Offers with a TCP and a UDP line (Poly) get the UDP one
		// answered: the only transport the floor control server runs.
		s.Others = append(s.Others, s.BFCP)
		s.BFCP = m
	default:
		s.Others = append(s.Others, m)
	}
}

// isRTP reports whether proto is an RTP profile (RFC 8866 §5.14).
func isRTP(proto string) bool {
	return strings.HasPrefix(proto, "RTP/") || strings.Contains(proto, "/RTP/")
}

// connAddr decodes a c= line. The address must be an IP literal: a host
// name cannot be used for media without a DNS lookup, which SIP devices do
// not expect. A multicast TTL or count suffix ("/127") is dropped.
func connAddr(ci *psdp.ConnectionInformation) (netip.Addr, error) {
	if ci == nil || ci.Address == nil {
		return netip.Addr{}, nil
	}
	host, _, _ := strings.Cut(ci.Address.Address, "/")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: c= address %.60q is not an IP address", ErrMalformed, host)
	}
	return a.Unmap(), nil
}

// parseMedia decodes one m= section.
func parseMedia(idx int, ml mline, md *psdp.MediaDescription, sessionDir Direction) (*Media, error) {
	m := &Media{
		Index:   idx,
		Type:    ml.media,
		Port:    ml.port,
		Proto:   ml.proto,
		Formats: ml.formats,
	}
	var err error
	if m.Addr, err = connAddr(md.ConnectionInformation); err != nil {
		return nil, err
	}
	m.Bitrate = bandwidth(md.Bandwidth)

	rtpmap := map[uint8]Codec{}
	fmtp := map[uint8]string{}
	for _, a := range md.Attributes {
		if !m.parseAttribute(a, rtpmap, fmtp) {
			m.Attributes = append(m.Attributes, Attribute{Key: a.Key, Value: a.Value})
		}
	}
	if m.Direction == DirectionUnknown {
		m.Direction = sessionDir
	}
	if m.Direction == DirectionUnknown {
		m.Direction = DirectionSendRecv
	}

	if !isRTP(m.Proto) {
		return m, nil
	}
	for _, f := range ml.formats {
		pt, ok := parsePT(f)
		if !ok {
			if m.Rejected() {
				continue // a rejected stream's formats do not matter
			}
			return nil, fmt.Errorf("%w: bad payload type %.10q", ErrMalformed, f)
		}
		c, ok := rtpmap[pt]
		if !ok {
			if c, ok = staticPayloadTypes[pt]; !ok {
				continue // dynamic payload type without a=rtpmap: unusable
			}
		}
		c.PT = pt
		c.Fmtp = fmtp[pt]
		switch {
		case c.IsTelephoneEvent():
			m.TelephoneEvents = append(m.TelephoneEvents, c)
		case strings.EqualFold(c.Name, nameCN):
			// Comfort noise (RFC 3389) is neither offered nor answered.
		default:
			m.Codecs = append(m.Codecs, c)
		}
	}
	if len(m.TelephoneEvents) > 0 {
		m.TelephoneEvent = &m.TelephoneEvents[0]
	}
	return m, nil
}

// parseAttribute decodes the attributes Media models and reports whether a
// was one of them. Malformed values of optional attributes are ignored
// rather than failing the body; a malformed a=crypto is dropped, so an
// SRTP offer with no usable line fails later with ErrNoCommonCrypto.
func (m *Media) parseAttribute(a psdp.Attribute, rtpmap map[uint8]Codec, fmtp map[uint8]string) bool {
	switch a.Key {
	case "rtpmap":
		if pt, c, ok := parseRTPMap(a.Value); ok {
			if _, dup := rtpmap[pt]; !dup {
				rtpmap[pt] = c
			}
		}
	case "fmtp":
		ptStr, params, _ := strings.Cut(strings.TrimSpace(a.Value), " ")
		if pt, ok := parsePT(ptStr); ok {
			fmtp[pt] = strings.TrimSpace(params)
		}
	case "ptime":
		m.Ptime = parseMillis(a.Value)
	case "maxptime":
		m.MaxPtime = parseMillis(a.Value)
	case "sendrecv", "sendonly", "recvonly", "inactive":
		m.Direction = parseDirection(a.Key)
	case "crypto":
		if c, err := ParseCrypto(a.Value); err == nil {
			m.Crypto = append(m.Crypto, c)
		}
	case "rtcp-mux":
		m.RTCPMux = true
	case "rtcp":
		m.parseRTCP(a.Value)
	case "rtcp-fb":
		f := strings.Fields(a.Value)
		if len(f) >= 2 {
			fb := RTCPFeedback{PT: f[0], Type: f[1]}
			if len(f) > 2 {
				fb.Param = strings.Join(f[2:], " ")
			}
			m.RTCPFb = append(m.RTCPFb, fb)
		}
	case "content":
		m.Content = strings.TrimSpace(a.Value)
	default:
		return false
	}
	return true
}

// parseRTCP decodes a=rtcp:<port> [IN IP4|IP6 <addr>] (RFC 3605 §2.1).
func (m *Media) parseRTCP(v string) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return
	}
	port, err := strconv.Atoi(f[0])
	if err != nil || port <= 0 || port > 65535 {
		return
	}
	m.RTCPPort = port
	if len(f) == 4 {
		if a, err := netip.ParseAddr(f[3]); err == nil {
			m.RTCPAddr = a.Unmap()
		}
	}
}

// parseMillis parses a ptime value. Some devices write fractions
// ("a=ptime:20.0"); values outside 1–1000 ms are ignored.
func parseMillis(v string) int {
	v, _, _ = strings.Cut(strings.TrimSpace(v), ".")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0
	}
	return n
}

// bandwidth reads b= lines: TIAS in bit/s (RFC 3890), else AS in kbit/s
// (RFC 8866 §5.8); 0 when neither is given.
func bandwidth(bs []psdp.Bandwidth) int {
	bitrate := 0
	for _, b := range bs {
		switch {
		case b.Type == "TIAS" && !b.Experimental:
			bitrate = clampInt(b.Bandwidth)
		case b.Type == "AS" && !b.Experimental && bitrate == 0:
			bitrate = clampInt(b.Bandwidth * 1000)
		}
	}
	return bitrate
}

func clampInt(v uint64) int {
	const limit = 1 << 40
	if v > limit {
		return limit
	}
	return int(v)
}
