package sdp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedCorpus adds every testdata sample to f.
func seedCorpus(f *testing.F) [][]byte {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.sdp"))
	var all [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		all = append(all, b)
	}
	return all
}

// FuzzParse feeds arbitrary bodies through the whole pipeline a SIP INVITE
// would take: Parse, Answer, Marshal, and Parse again. None may panic, and
// what we write must parse.
func FuzzParse(f *testing.F) {
	for _, b := range seedCorpus(f) {
		f.Add(b)
	}
	f.Add([]byte("v=0\nm=audio 1 RTP/AVP 0\nc=IN IP6 ::1\n"))
	f.Add([]byte("m=image 0 udptl t38\r\n"))
	p := testPolicy()
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		text := Marshal(s)
		if _, err := Parse(text); err != nil {
			t.Fatalf("Parse(Marshal(s)): %v\n%q\nfrom %q", err, text, b)
		}
		for i, mode := range []SRTPMode{SRTPAllow, SRTPRequire, SRTPDisable} {
			q := p
			q.SRTP = mode
			if i == 0 {
				q.Slides, q.SlidesPort, q.BFCPPort = true, 10004, 10006
			}
			ans, err := Answer(s, q)
			if err != nil {
				continue
			}
			out := Marshal(ans)
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(answer): %v\n%q", err, out)
			}
			if err := AcceptAnswer(s, back); err != nil {
				t.Fatalf("our answer does not fit the offer: %v\noffer %q\nanswer %q", err, b, out)
			}
		}
	})
}

// FuzzCrypto checks that ParseCrypto never panics, and that what it accepts
// formats back to a line that parses to the same value.
func FuzzCrypto(f *testing.F) {
	for _, b := range seedCorpus(f) {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=crypto:"); ok {
				f.Add(v)
			}
		}
	}
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32")
	f.Add("1 AEAD_AES_128_GCM inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCrypto(s)
		if err != nil {
			return
		}
		_ = c.MasterKey()
		_ = c.MasterSalt()
		back, err := ParseCrypto(c.String())
		if err != nil {
			t.Fatalf("ParseCrypto(%q) → %q: %v", s, c.String(), err)
		}
		if back.Tag != c.Tag || back.Suite != c.Suite || !bytes.Equal(back.Key, c.Key) ||
			back.Lifetime != c.Lifetime || back.MKI != c.MKI || back.MKILen != c.MKILen {
			t.Fatalf("round trip %q → %+v, then %+v", s, c, back)
		}
	})
}

// FuzzAcceptAnswer checks our offers (with and without slides and SRTP)
// against arbitrary answers, as a delayed-offer ACK or a dial-out 200
// would bring them: an error is fine, a panic is not.
func FuzzAcceptAnswer(f *testing.F) {
	for _, b := range seedCorpus(f) {
		f.Add(b)
	}
	p := testPolicy()
	f.Fuzz(func(t *testing.T, b []byte) {
		for i, mode := range []SRTPMode{SRTPAllow, SRTPRequire, SRTPDisable} {
			q := p
			q.SRTP = mode
			if i == 0 {
				q.Slides, q.SlidesPort, q.BFCPPort = true, 10004, 10006
			}
			offer, err := Offer(q)
			if err != nil {
				t.Fatal(err)
			}
			ans, err := Parse(b)
			if err != nil {
				return
			}
			_ = AcceptAnswer(offer, ans)
		}
	})
}
