package sipws

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want msgKind
	}{
		{"\r\n\r\n", msgPing},
		{"\r\n", msgKeepalive},
		{"\n\n\r", msgKeepalive},
		{options("x"), msgSIP},
		{"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", msgSIP},
		{"SIP/2.0 180 Ringing\r\n\r\n", msgSIP},
		{"INVITE sip:demo@conf.example.com SIP/2.0\r\n\r\nv=0", msgSIP},
		{"INVITE tel:+15550100 SIP/2.0\r\n\r\n", msgSIP},
		{"hello", msgUnknown},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", msgUnknown},
		{"OPTIONS sip:x SIP/2.0\r\nVia: x\r\n", msgUnknown}, // no blank line
		{"OPTIONS sip:x SIP/3.0\r\n\r\n", msgUnknown},
		{"OPTIONS nocolon SIP/2.0\r\n\r\n", msgUnknown},
		{"OPT<IONS sip:x SIP/2.0\r\n\r\n", msgUnknown},
		{"SIP/2.0 2x0 OK\r\n\r\n", msgUnknown},
		{"SIP/2.0 200\r\n\r\n", msgUnknown},
		{"\x00\x01\x02", msgUnknown},
		{"INVITE sip:" + strings.Repeat("a", maxStartLine) + " SIP/2.0\r\n\r\n", msgUnknown},
		{"", msgKeepalive},
	} {
		if got := classify([]byte(c.msg)); got != c.want {
			t.Errorf("classify(%.40q) = %d, want %d", c.msg, got, c.want)
		}
	}
}

// FuzzClassify: never panics; what it calls SIP starts with a start line
// and has a blank line after it.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{options("f"), "SIP/2.0 200 OK\r\n\r\n", "\r\n\r\n", "hello", "A b:c SIP/2.0\r\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if classify(msg) == msgSIP {
			s := string(msg)
			line, rest, ok := strings.Cut(s, "\r\n")
			if !ok || !strings.Contains("\r\n"+rest, "\r\n\r\n") || !strings.Contains(line, "SIP/2.0") {
				t.Fatalf("classified as SIP: %q", msg)
			}
		}
	})
}
