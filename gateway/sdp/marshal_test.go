package sdp

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestMarshalRoundTrip parses each corpus sample, writes it and parses it
// again: the model must survive, and the text must be strict SDP.
func TestMarshalRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.sdp"))
	if err != nil || len(files) == 0 {
		t.Fatal("no corpus", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s := mustParse(t, b)
			text := Marshal(s)
			checkStrictSDP(t, text)
			back := mustParse(t, text)
			if !reflect.DeepEqual(normalizeForCompare(s), normalizeForCompare(back)) {
				t.Errorf("round trip changed the session\nfirst: %s\nagain: %s", text, Marshal(back))
			}
			if again := Marshal(back); !bytes.Equal(again, text) {
				t.Errorf("Marshal not stable:\n%s\n%s", text, again)
			}
		})
	}
}

// normalizeForCompare clears what Marshal legitimately changes: the
// session name placeholder and the rejected streams' attributes.
func normalizeForCompare(s *Session) *Session {
	c := *s
	c.Name = ""
	c.Others = nil
	for _, m := range s.Others {
		if m.Rejected() {
			m2 := *m
			m2.Attributes, m2.Direction, m2.Bitrate, m2.Codecs, m2.TelephoneEvents, m2.TelephoneEvent = nil, 0, 0, nil, nil, nil
			m2.Content, m2.RTCPPort, m2.RTCPFb = "", 0, nil
			c.Others = append(c.Others, &m2)
			continue
		}
		c.Others = append(c.Others, m)
	}
	return &c
}

// checkStrictSDP checks the lines Marshal writes: CRLF endings, the
// mandatory lines first (RFC 8866 §5), nothing empty.
func checkStrictSDP(t *testing.T, b []byte) {
	t.Helper()
	s := string(b)
	if !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatalf("not CRLF-terminated:\n%q", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	// Session-level b= lines go between c= and t= (RFC 8866 §5).
	for len(lines) > 4 && strings.HasPrefix(lines[4], "b=") {
		lines = append(lines[:4], lines[5:]...)
	}
	for i, prefix := range []string{"v=0", "o=", "s=", "c=", "t=0 0"} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], prefix) {
			t.Fatalf("line %d = %q, want %s…", i+1, lines[i], prefix)
		}
	}
	for _, l := range lines {
		if len(l) < 3 || l[1] != '=' {
			t.Errorf("bad line %q", l)
		}
	}
}

func TestMarshalAnswerText(t *testing.T) {
	p := testPolicy()
	ans, err := Answer(mustParse(t, readSample(t, "cisco-room-h264.sdp")), p)
	if err != nil {
		t.Fatal(err)
	}
	ans.Origin.SessionID = 42
	want := strings.Join([]string{
		"v=0",
		"o=roombridge 42 1 IN IP4 192.0.2.1",
		"s=-",
		"c=IN IP4 192.0.2.1",
		"t=0 0",
		"m=audio 10000 RTP/AVP 0 105",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:105 telephone-event/8000",
		"a=fmtp:105 0-15",
		"a=ptime:20",
		"a=sendrecv",
		"m=video 10002 RTP/AVP 98",
		"a=rtpmap:98 H264/90000",
		"a=fmtp:98 profile-level-id=42801f;packetization-mode=1;level-asymmetry-allowed=1",
		"a=rtcp-fb:98 nack pli",
		"a=rtcp-fb:98 ccm fir",
		"a=rtcp-fb:98 ccm tmmbr",
		"a=content:main",
		"a=sendrecv",
		"m=video 0 RTP/AVP 97 98 34 31",
		"m=application 0 UDP/BFCP *",
		"m=application 0 RTP/AVP 100",
		"",
	}, "\r\n")
	if got := string(Marshal(ans)); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestMarshalIPv6AndBitrate(t *testing.T) {
	p := testPolicy()
	p.Addr = mustAddr("2001:db8::100")
	p.VideoBitrate = 1500000
	o, err := Offer(p)
	if err != nil {
		t.Fatal(err)
	}
	text := string(Marshal(o))
	for _, want := range []string{"o=roombridge ", " IN IP6 2001:db8::100\r\n", "c=IN IP6 2001:db8::100\r\n", "b=AS:1500\r\n", "b=TIAS:1500000\r\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	back := mustParse(t, []byte(text))
	if back.ConnAddr != p.Addr || back.Video.Bitrate != 1500000 {
		t.Errorf("parsed back %v %d", back.ConnAddr, back.Video.Bitrate)
	}
}

func TestMarshalHostile(t *testing.T) {
	// Values from a peer must not be able to inject lines.
	s := &Session{
		Origin:   Origin{Username: "a b\r\nm=audio 1 RTP/AVP 0"},
		Name:     "x\r\nc=IN IP4 6.6.6.6",
		ConnAddr: mustAddr("192.0.2.1"),
		Audio: &Media{
			Type: "audio", Port: 1, Proto: "RTP/AVP",
			Codecs:     []Codec{{PT: 96, Name: "x\r\ny", ClockRate: 8000, Fmtp: "a\r\nb"}},
			Attributes: []Attribute{{Key: "k\n", Value: "v\r\nm=video 2 RTP/AVP 0"}},
		},
	}
	got := mustParse(t, Marshal(s))
	if got.Video != nil || len(got.Others) != 0 || got.ConnAddr != mustAddr("192.0.2.1") {
		t.Errorf("injection:\n%s", Marshal(s))
	}
}
