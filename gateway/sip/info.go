package sip

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Content types of SIP INFO bodies the gateway understands.
const (
	// ContentTypeDTMFRelay is the de-facto DTMF relay format
	// ("Signal=5\r\nDuration=160").
	ContentTypeDTMFRelay = "application/dtmf-relay"
	// ContentTypeDTMF carries a bare digit ("5").
	ContentTypeDTMF = "application/dtmf"
	// ContentTypeMediaControl is RFC 5168 XML media control
	// (picture_fast_update).
	ContentTypeMediaControl = "application/media_control+xml"
)

// ErrBadDTMF reports an INFO body without a valid DTMF digit.
var ErrBadDTMF = errors.New("sip: malformed DTMF INFO body")

// maxInfoBody bounds INFO bodies we parse.
const maxInfoBody = 4096

// ParseDTMFRelay parses the body of a SIP INFO carrying a DTMF digit, either
// application/dtmf-relay ("Signal=5\r\nDuration=160", keys case-insensitive,
// Duration in milliseconds) or application/dtmf (the digit alone). Signals
// 10 to 15 are read as *, #, A, B, C, D (the RFC 4733 event numbers). The
// returned duration is 0 when the body gives none.
func ParseDTMFRelay(body []byte) (digit rune, duration time.Duration, err error) {
	if len(body) > maxInfoBody {
		return 0, 0, ErrBadDTMF
	}
	text := strings.TrimSpace(string(body))
	if !strings.Contains(text, "=") {
		// application/dtmf: the digit alone.
		d, ok := dtmfDigit(text)
		if !ok {
			return 0, 0, ErrBadDTMF
		}
		return d, 0, nil
	}
	haveSignal := false
	for line := range strings.Lines(text) {
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		switch key {
		case "signal":
			d, ok := dtmfDigit(val)
			if !ok {
				return 0, 0, ErrBadDTMF
			}
			digit, haveSignal = d, true
		case "duration":
			ms, perr := strconv.Atoi(val)
			if perr != nil || ms < 0 || ms > 60000 {
				return 0, 0, ErrBadDTMF
			}
			duration = time.Duration(ms) * time.Millisecond
		}
	}
	if !haveSignal {
		return 0, 0, ErrBadDTMF
	}
	return digit, duration, nil
}

// dtmfDigit reads one DTMF digit: 0-9 * # A-D (any case), or an RFC 4733
// event number 0-15.
func dtmfDigit(s string) (rune, bool) {
	if len(s) == 1 {
		c := s[0]
		switch {
		case c >= '0' && c <= '9', c == '*', c == '#':
			return rune(c), true
		case c >= 'A' && c <= 'D':
			return rune(c), true
		case c >= 'a' && c <= 'd':
			return rune(c - 'a' + 'A'), true
		}
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 10 || n > 15 {
		return 0, false
	}
	return rune("*#ABCD"[n-10]), true
}

// IsPictureFastUpdate reports whether body is an RFC 5168 media control
// document asking for a key frame:
//
//	<media_control><vc_primitive><to_encoder><picture_fast_update/>
//	</to_encoder></vc_primitive></media_control>
func IsPictureFastUpdate(body []byte) bool {
	if len(body) > maxInfoBody || !bytes.Contains(body, []byte("picture_fast_update")) {
		return false
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = false
	var stack []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if len(stack) > 16 {
				return false
			}
			if t.Name.Local == "picture_fast_update" && len(stack) >= 4 &&
				stack[0] == "media_control" && stack[len(stack)-2] == "to_encoder" {
				return true
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}
