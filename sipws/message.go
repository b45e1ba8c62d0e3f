package sipws

import "bytes"

// msgKind is what a WebSocket message from a client holds.
type msgKind int

const (
	msgUnknown   msgKind = iota
	msgSIP               // a SIP request or response, for sipgo
	msgPing              // CRLFCRLF: answer with CRLF (RFC 5626 §3.5.1)
	msgKeepalive         // other CRLF-only messages: ignore
)

// maxStartLine bounds the start line we look at; a longer one is not a SIP
// message a browser would send.
const maxStartLine = 4096

// classify looks at the start of a client message: a SIP request line
// (RFC 3261 §7.1: Method SP Request-URI SP SIP-Version CRLF) or status line
// (§7.2: SIP-Version SP 3DIGIT SP ...), and the blank line that ends the
// headers. sipgo parses the rest; this only keeps garbage from reaching it.
func classify(msg []byte) msgKind {
	if len(bytes.Trim(msg, "\r\n")) == 0 {
		if bytes.Equal(msg, []byte("\r\n\r\n")) {
			return msgPing
		}
		return msgKeepalive
	}
	end := bytes.Index(msg, []byte("\r\n"))
	if end <= 0 || end > maxStartLine || !bytes.Contains(msg[end:], []byte("\r\n\r\n")) {
		return msgUnknown
	}
	line := msg[:end]
	if rest, ok := bytes.CutPrefix(line, []byte("SIP/2.0 ")); ok {
		if len(rest) >= 4 && isDigits(rest[:3]) && rest[3] == ' ' {
			return msgSIP
		}
		return msgUnknown
	}
	method, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(method) == 0 || !isToken(method) {
		return msgUnknown
	}
	uri, version, ok := bytes.Cut(rest, []byte(" "))
	if !ok || !bytes.Equal(version, []byte("SIP/2.0")) || !validURI(uri) {
		return msgUnknown
	}
	return msgSIP
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isToken reports RFC 3261 §25.1 token characters.
func isToken(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case bytes.IndexByte([]byte("-.!%*_+`'~"), c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validURI accepts an absolute URI with a scheme (sip:, sips:, tel:, ...)
// and no spaces or control characters.
func validURI(b []byte) bool {
	colon := bytes.IndexByte(b, ':')
	if colon <= 0 || colon == len(b)-1 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
