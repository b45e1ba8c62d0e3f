package sdp

import (
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// Marshal writes s as SDP text with CRLF line endings (RFC 8866 §5):
// v=, o=, s=, c=, t=0 0 (RFC 3264 §5: SIP sessions are unbounded), then the
// m= sections in Index order. Active RTP streams carry a=rtpmap for every
// payload type, static ones included (RFC 8866 §6.6 allows it and some
// devices want it), a=fmtp, a=ptime, an explicit direction attribute, and
// a=crypto, a=rtcp-mux, a=rtcp-fb when set. Rejected streams are the bare
// m= line with port 0.
func Marshal(s *Session) []byte {
	if s == nil {
		return nil
	}
	d := psdp.SessionDescription{
		Origin: psdp.Origin{
			Username:       nonEmpty(s.Origin.Username, "-"),
			SessionID:      s.Origin.SessionID,
			SessionVersion: s.Origin.SessionVersion,
			NetworkType:    "IN",
		},
		SessionName:      psdp.SessionName(oneLine(nonEmptyLine(s.Name))),
		TimeDescriptions: []psdp.TimeDescription{{}},
	}
	d.Origin.UnicastAddress = nonEmpty(s.Origin.Address, s.ConnAddr.String())
	if !s.ConnAddr.IsValid() && s.Origin.Address == "" {
		d.Origin.UnicastAddress = "0.0.0.0"
	}
	d.Origin.AddressType = addrTypeOf(d.Origin.UnicastAddress)
	if s.ConnAddr.IsValid() {
		d.ConnectionInformation = connInfo(s.ConnAddr.String())
	}
	d.Bandwidth = bandwidthLines(s.Bitrate)
	for _, m := range s.media() {
		d.MediaDescriptions = append(d.MediaDescriptions, marshalMedia(m))
	}
	b, err := d.Marshal()
	if err != nil {
		return nil // pion/sdp's Marshal cannot fail
	}
	return b
}

// Marshal is the method form of [Marshal].
func (s *Session) Marshal() []byte { return Marshal(s) }

// String returns the SDP text, for logs.
func (s *Session) String() string { return string(Marshal(s)) }

func nonEmpty(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return sanitize(s)
}

func nonEmptyLine(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// lineBreaks drops CR and LF, so a value cannot start a new SDP line.
var lineBreaks = strings.NewReplacer("\r", "", "\n", "")

func oneLine(s string) string { return lineBreaks.Replace(s) }

// sanitize keeps a value on one line and in one field where SDP needs it.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return '_'
		}
		return r
	}, s)
}

// addrTypeOf returns IP6 for an IPv6 literal and IP4 otherwise (host names
// included; RFC 8866 §5.2 leaves that choice to us).
func addrTypeOf(addr string) string {
	if strings.Contains(addr, ":") {
		return "IP6"
	}
	return "IP4"
}

func connInfo(addr string) *psdp.ConnectionInformation {
	return &psdp.ConnectionInformation{
		NetworkType: "IN",
		AddressType: addrTypeOf(addr),
		Address:     &psdp.Address{Address: addr},
	}
}

// bandwidthLines writes a bitrate as b=AS and b=TIAS (RFC 3890 §6.2.2:
// TIAS for those who know it, AS for the rest); none for 0.
func bandwidthLines(bitrate int) []psdp.Bandwidth {
	if bitrate <= 0 {
		return nil
	}
	return []psdp.Bandwidth{
		{Type: "AS", Bandwidth: uint64((bitrate + 999) / 1000)},
		{Type: "TIAS", Bandwidth: uint64(bitrate)},
	}
}

func marshalMedia(m *Media) *psdp.MediaDescription {
	md := &psdp.MediaDescription{
		MediaName: psdp.MediaName{
			Media:  nonEmpty(m.Type, "audio"),
			Port:   psdp.RangedPort{Value: m.Port},
			Protos: strings.Split(nonEmpty(m.Proto, "RTP/AVP"), "/"),
		},
	}
	rtp := isRTP(m.Proto)
	if m.Rejected() || !rtp {
		md.MediaName.Formats = m.Formats
		if rtp || len(md.MediaName.Formats) == 0 {
			md.MediaName.Formats = m.formats()
		}
		if m.Rejected() {
			return md
		}
	} else {
		md.MediaName.Formats = m.formats()
	}
	if m.Addr.IsValid() {
		md.ConnectionInformation = connInfo(m.Addr.String())
	}
	md.Bandwidth = bandwidthLines(m.Bitrate)
	add := func(k, v string) { md.Attributes = append(md.Attributes, psdp.Attribute{Key: k, Value: v}) }
	if rtp {
		for _, c := range append(append([]Codec(nil), m.Codecs...), m.events()...) {
			pt := strconv.Itoa(int(c.PT))
			add("rtpmap", pt+" "+sanitize(c.rtpmap()))
			if c.Fmtp != "" {
				add("fmtp", pt+" "+oneLine(c.Fmtp))
			}
		}
		for _, fb := range m.RTCPFb {
			add("rtcp-fb", fb.String())
		}
		if m.Ptime > 0 {
			add("ptime", strconv.Itoa(m.Ptime))
		}
		if m.MaxPtime > 0 {
			add("maxptime", strconv.Itoa(m.MaxPtime))
		}
	}
	if m.Content != "" {
		add("content", sanitize(m.Content))
	}
	for _, c := range m.Crypto {
		add("crypto", oneLine(c.String()))
	}
	if m.RTCPMux {
		add("rtcp-mux", "")
	}
	if m.RTCPPort != 0 {
		v := strconv.Itoa(m.RTCPPort)
		if m.RTCPAddr.IsValid() {
			v += " IN " + addrTypeOf(m.RTCPAddr.String()) + " " + m.RTCPAddr.String()
		}
		add("rtcp", v)
	}
	for _, a := range m.Attributes {
		add(sanitize(a.Key), oneLine(a.Value))
	}
	// Always explicit: some devices mishandle the implied sendrecv after a
	// hold.
	add(m.Direction.String(), "")
	return md
}
