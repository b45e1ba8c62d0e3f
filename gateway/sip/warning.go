package sip

import (
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// warnings are the Warning codes (RFC 3261 §20.43) that explain a 488: a
// peer, or the developer of a browser SIP client, reads why its offer was
// refused instead of guessing. The first match wins.
var warnings = []struct {
	err    error
	code   string
	phrase string
}{
	{ErrUnsupportedTransport, "302", "Incompatible transport protocol"},
	{ErrSRTPRequired, "302", "Incompatible transport protocol"},
	{ErrNoCommonCodec, "305", "Incompatible media format"},
	{ErrNotAcceptable, "399", "Offer not acceptable"},
}

// maxWarnText bounds the detail we put in a Warning.
const maxWarnText = 200

// warning returns the Warning header for a rejection caused by err, none
// when err is not one of the 488 sentinels. The text is the phrase of its
// code and what the error says past the sentinel.
func (s *Server) warning(err error) []sip.Header {
	if err == nil {
		return nil
	}
	for _, w := range warnings {
		if !errors.Is(err, w.err) {
			continue
		}
		text := w.phrase
		if detail := errDetail(err, w.err); detail != "" {
			text += ": " + detail
		}
		if len(text) > maxWarnText {
			text = text[:maxWarnText]
		}
		agent := s.cfg.Domain
		if agent == "" {
			agent = defaultRealm
		}
		return []sip.Header{sip.NewHeader("Warning", w.code+" "+agent+" \""+quoteEscape(printable(text))+"\"")}
	}
	return nil
}

// errDetail is err's message after the sentinel's own ("sip: x: detail"
// gives "detail"), or "" when there is nothing more.
func errDetail(err, sentinel error) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()); i >= 0 {
		msg = msg[i+len(sentinel.Error()):]
	} else {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(msg, ":"))
}

// printable keeps a header value to printable ASCII.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
}
