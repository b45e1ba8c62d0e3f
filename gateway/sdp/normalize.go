package sdp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// mline is an m= line as written (RFC 8866 §5.14), decoded by us rather than
// by pion/sdp, whose list of media types and protocols is closed: a T.38
// "m=image 0 udptl t38" line must not fail the whole offer.
type mline struct {
	media   string
	port    int
	proto   string
	formats []string
}

// normalized is the result of the tolerant pre-pass.
type normalized struct {
	text   string
	mlines []mline
}

// Line-type ranks giving the order RFC 8866 §5 prescribes. Lines of the same
// rank keep their relative order.
var (
	sessionRank = map[byte]int{'v': 0, 'o': 1, 's': 2, 'c': 3, 'b': 4, 't': 5, 'a': 6}
	mediaRank   = map[byte]int{'m': 0, 'c': 1, 'b': 2, 'a': 3}
)

// normalize rewrites SDP as SIP devices send it into the strict form
// pion/sdp parses:
//
//   - CRLF, bare LF and bare CR line endings all end a line; trailing
//     whitespace and empty lines are dropped (RFC 8866 §5 asks parsers to be
//     tolerant of bare LF);
//   - lines within the session part and within each media section are put
//     into RFC 8866 §5 order, which some devices do not keep;
//   - lines we do not use and that pion/sdp would validate (i=, u=, e=, p=,
//     r=, z=, k=, unknown letters, malformed b=) are dropped; a missing v=,
//     o= or s= is supplied, and t= is always "t=0 0" (RFC 3264 §5);
//   - m= lines are decoded here and handed on in a neutral form, so media
//     types and protocols pion/sdp does not know survive.
//
// It is strict about what the answer depends on: each line must look like
// "x=…", v= must be 0, and m= lines must have a valid port and a protocol.
func normalize(b []byte) (normalized, error) {
	var out normalized
	type line struct {
		typ  byte
		text string
	}
	var session []line
	var sections [][]line
	var seen [256]bool // singleton session lines already kept

	for _, raw := range splitLines(string(b)) {
		l := strings.TrimSpace(raw)
		if l == "" {
			continue
		}
		if len(l) < 2 || l[1] != '=' || l[0] < 'a' || l[0] > 'z' {
			return out, fmt.Errorf("%w: line is not <type>=<value>: %.40q", ErrMalformed, l)
		}
		typ := l[0]
		if typ == 'm' {
			ml, err := parseMLine(l[2:])
			if err != nil {
				return out, fmt.Errorf("%w: m= line %d: %w", ErrMalformed, len(out.mlines)+1, err)
			}
			out.mlines = append(out.mlines, ml)
			sections = append(sections, []line{{'m', neutralMLine(ml)}})
			continue
		}
		if len(sections) == 0 {
			if _, ok := sessionRank[typ]; !ok || typ == 't' {
				continue
			}
			if typ == 'b' && !validBandwidth(l[2:]) {
				continue
			}
			if typ != 'a' && typ != 'b' {
				if seen[typ] {
					continue
				}
				seen[typ] = true
			}
			if typ == 'v' && l != "v=0" {
				return out, fmt.Errorf("%w: unsupported %q (RFC 8866 §5.1)", ErrMalformed, l)
			}
			session = append(session, line{typ, l})
			continue
		}
		sec := &sections[len(sections)-1]
		if _, ok := mediaRank[typ]; !ok {
			continue
		}
		if typ == 'b' && !validBandwidth(l[2:]) {
			continue
		}
		if typ == 'c' && slices.ContainsFunc(*sec, func(x line) bool { return x.typ == 'c' }) {
			continue // several c= only for layered multicast; keep the first
		}
		*sec = append(*sec, line{typ, l})
	}

	if !seen['v'] {
		session = append(session, line{'v', "v=0"})
	}
	if !seen['o'] {
		session = append(session, line{'o', "o=- 0 0 IN IP4 0.0.0.0"})
	}
	if !seen['s'] {
		session = append(session, line{'s', "s=-"})
	}
	session = append(session, line{'t', "t=0 0"})
	slices.SortStableFunc(session, func(a, b line) int { return sessionRank[a.typ] - sessionRank[b.typ] })

	var sb strings.Builder
	sb.Grow(len(b) + 64)
	for _, l := range session {
		sb.WriteString(l.text)
		sb.WriteString("\r\n")
	}
	for _, sec := range sections {
		slices.SortStableFunc(sec, func(a, b line) int { return mediaRank[a.typ] - mediaRank[b.typ] })
		for _, l := range sec {
			sb.WriteString(l.text)
			sb.WriteString("\r\n")
		}
	}
	out.text = sb.String()
	return out, nil
}

// splitLines splits on CRLF, LF or CR, dropping empty lines.
func splitLines(s string) []string {
	out := make([]string, 0, strings.Count(s, "\n")+1)
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\n' || c == '\r' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// parseMLine decodes "<media> <port>[/<count>] <proto> <fmt> ...".
func parseMLine(v string) (mline, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return mline{}, fmt.Errorf("m= line needs media, port and protocol: %.60q", v)
	}
	portStr, _, _ := strings.Cut(f[1], "/")
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return mline{}, fmt.Errorf("bad m= port %.20q", f[1])
	}
	return mline{media: strings.ToLower(f[0]), port: port, proto: f[2], formats: f[3:]}, nil
}

// neutralMLine is an m= line pion/sdp accepts whatever the real media type
// and protocol; the real ones are kept in mline.
func neutralMLine(ml mline) string {
	return "m=application " + strconv.Itoa(ml.port) + " RTP/AVP 0"
}

// validBandwidth reports whether pion/sdp would accept a b= value
// (RFC 8866 §5.8; unknown types are to be ignored, not rejected).
func validBandwidth(v string) bool {
	typ, n, ok := strings.Cut(v, ":")
	if !ok {
		return false
	}
	if _, err := strconv.ParseUint(n, 10, 64); err != nil {
		return false
	}
	switch typ {
	case "CT", "AS", "TIAS", "RS", "RR":
		return true
	}
	return strings.HasPrefix(typ, "X-")
}
