package sdp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseCorpus(t *testing.T) {
	tests := []struct {
		file     string
		origin   Origin
		audioRTP string // RTP destination of the audio stream
		rtcp     string // RTCP destination
		codecs   string // audio codecs as "PT name/rate" joined by ","
		te       []string
		others   int
	}{
		{
			file:     "cisco-room-h264.sdp",
			origin:   Origin{Username: "tandberg", SessionID: 7, SessionVersion: 2, Address: "10.10.20.31"},
			audioRTP: "10.10.20.31:2326", rtcp: "10.10.20.31:2327",
			codecs: "101 MP4A-LATM/90000,100 MP4A-LATM/90000,102 G7221/16000,103 G7221/16000,104 G7221/16000,9 G722/8000,8 PCMA/8000,0 PCMU/8000,18 G729/8000",
			te:     []string{"105 telephone-event/8000"},
			others: 1, // H.224; the slides video is Slides, BFCP is BFCP
		},
		{
			file:     "poly-g722.sdp",
			origin:   Origin{Username: "-", SessionID: 1711468851, SessionVersion: 1711468851, Address: "192.168.1.50"},
			audioRTP: "192.168.1.50:2222", rtcp: "192.168.1.50:2223",
			codecs: "9 G722/8000,102 G7221/16000,0 PCMU/8000,8 PCMA/8000,18 G729/8000",
			te:     []string{"127 telephone-event/8000"},
		},
		{
			file:     "trunk-pcma.sdp",
			origin:   Origin{Username: "SBC", SessionID: 123456, SessionVersion: 654321, Address: "62.0.0.1"},
			audioRTP: "62.0.0.2:40000", rtcp: "62.0.0.2:40001",
			codecs: "8 PCMA/8000", // static type, no rtpmap
			te:     []string{"101 telephone-event/8000"},
		},
		{
			file:     "freeswitch-opus.sdp",
			origin:   Origin{Username: "FreeSWITCH", SessionID: 1711400000, SessionVersion: 1711400001, Address: "198.51.100.7"},
			audioRTP: "198.51.100.7:23190", rtcp: "198.51.100.7:23191",
			codecs: "102 opus/48000/2,9 G722/8000,0 PCMU/8000,8 PCMA/8000",
			te:     []string{"101 telephone-event/48000", "100 telephone-event/8000"},
		},
		{
			file:     "opus-only.sdp",
			origin:   Origin{Username: "-", SessionID: 3904, SessionVersion: 3904, Address: "198.51.100.8"},
			audioRTP: "198.51.100.8:7078", rtcp: "198.51.100.8:7078", // rtcp-mux
			codecs: "96 opus/48000/2",
			te:     []string{"101 telephone-event/48000"},
		},
		{
			file:     "ipv6.sdp",
			origin:   Origin{Username: "-", SessionID: 20518, Address: "2001:db8::1"},
			audioRTP: "[2001:db8::2]:49170", rtcp: "[2001:db8::3]:49171",
			codecs: "0 PCMU/8000",
			te:     []string{"101 telephone-event/8000"},
		},
		{
			file:     "messy.sdp",
			origin:   Origin{Username: "mess", SessionID: 99, SessionVersion: 99, Address: "192.0.2.77"},
			audioRTP: "192.0.2.78:3000", rtcp: "192.0.2.78:3001",
			codecs: "0 PCMU/8000,8 PCMA/8000",
			te:     []string{"96 telephone-event/8000"},
		},
		{
			file:     "g729-t38.sdp",
			origin:   Origin{Username: "-", SessionID: 5, SessionVersion: 6, Address: "192.0.2.9"},
			audioRTP: "192.0.2.9:6000", rtcp: "192.0.2.9:6001",
			codecs: "18 G729/8000",
			others: 1,
		},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, ".sdp"), func(t *testing.T) {
			s, err := Parse(readSample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if s.Origin != tc.origin {
				t.Errorf("origin = %+v, want %+v", s.Origin, tc.origin)
			}
			if s.Audio == nil {
				t.Fatal("no audio")
			}
			if got := s.RTPAddr(s.Audio).String(); got != tc.audioRTP {
				t.Errorf("RTP address = %s, want %s", got, tc.audioRTP)
			}
			if got := s.RTCPAddr(s.Audio).String(); got != tc.rtcp {
				t.Errorf("RTCP address = %s, want %s", got, tc.rtcp)
			}
			var cs []string
			for _, c := range s.Audio.Codecs {
				cs = append(cs, c.String())
			}
			if got := strings.Join(cs, ","); got != tc.codecs {
				t.Errorf("codecs = %s\nwant %s", got, tc.codecs)
			}
			var te []string
			for _, c := range s.Audio.TelephoneEvents {
				te = append(te, c.String())
			}
			if strings.Join(te, ",") != strings.Join(tc.te, ",") {
				t.Errorf("telephone-event = %v, want %v", te, tc.te)
			}
			if len(s.Others) != tc.others {
				t.Errorf("%d other m= lines, want %d", len(s.Others), tc.others)
			}
		})
	}
}

func TestParseCiscoDetails(t *testing.T) {
	s, err := Parse(readSample(t, "cisco-room-h264.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Audio.Bitrate != 128000 {
		t.Errorf("audio TIAS = %d", s.Audio.Bitrate)
	}
	v := s.Video
	if v == nil || v.Index != 1 || v.Content != "main" {
		t.Fatalf("video = %+v, want the main video at index 1", v)
	}
	if len(v.Codecs) != 5 || len(v.RTCPFb) != 3 {
		t.Errorf("video codecs %v, rtcp-fb %v", v.Codecs, v.RTCPFb)
	}
	p, ok := ParseH264Fmtp(v.Codecs[1].Fmtp)
	if !ok || p.Profile != H264Baseline || p.Level != 0x16 || p.PacketizationMode != 1 || !p.LevelAsymmetryAllowed {
		t.Errorf("H.264 params = %+v", p)
	}
	if sl := s.Slides; sl == nil || sl.Index != 2 || sl.Content != "slides" || len(sl.Codecs) != 4 {
		t.Errorf("slides = %+v", sl)
	}
	if s.Bitrate != 6000000 {
		t.Errorf("session b=AS = %d", s.Bitrate)
	}
	if b := s.BFCP; b == nil || b.Index != 3 || b.Proto != "UDP/BFCP" || strings.Join(b.Formats, " ") != "*" {
		t.Errorf("BFCP line = %+v", b)
	}
	if len(s.Others) != 1 || s.Others[0].Type != "application" || s.Others[0].Index != 4 {
		t.Errorf("others = %+v, want the H.224 line at 4", s.Others)
	}
}

func TestParseT38(t *testing.T) {
	s, err := Parse(readSample(t, "g729-t38.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	img := s.Others[0]
	if img.Type != "image" || img.Port != 6002 || img.Proto != "udptl" || img.Formats[0] != "t38" {
		t.Errorf("image line = %+v", img)
	}
	if len(img.Attributes) != 2 || img.Attributes[0].Key != "T38FaxVersion" {
		t.Errorf("image attributes = %+v", img.Attributes)
	}
}

func TestParseHold(t *testing.T) {
	tests := []struct {
		file string
		dir  Direction
		hold bool
	}{
		{"asterisk.sdp", DirectionSendRecv, false},
		{"hold-sendonly.sdp", DirectionSendOnly, true},
		{"hold-inactive.sdp", DirectionInactive, true}, // session-level attribute
		{"hold-legacy.sdp", DirectionSendRecv, true},   // c=0.0.0.0
		{"recvonly.sdp", DirectionRecvOnly, false},
	}
	for _, tc := range tests {
		s, err := Parse(readSample(t, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if s.Audio.Direction != tc.dir || s.OnHold(s.Audio) != tc.hold {
			t.Errorf("%s: direction %v hold %v, want %v %v", tc.file, s.Audio.Direction, s.OnHold(s.Audio), tc.dir, tc.hold)
		}
	}
}

func TestParseSAVP(t *testing.T) {
	s, err := Parse(readSample(t, "savp-cisco.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	a := s.Audio
	if !a.Secure() || len(a.Crypto) != 4 {
		t.Fatalf("secure %v, %d crypto lines", a.Secure(), len(a.Crypto))
	}
	wantSuites := []CryptoSuite{AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32}
	for i, c := range a.Crypto {
		if c.Suite != wantSuites[i] || c.Tag != uint32(i+1) {
			t.Errorf("crypto %d = %d %v", i, c.Tag, c.Suite)
		}
	}
	if c := a.Crypto[2]; c.Lifetime != 1<<31 || c.MKI != 1 || c.MKILen != 1 {
		t.Errorf("lifetime/MKI = %d %d:%d", c.Lifetime, c.MKI, c.MKILen)
	}
}

func TestParseTolerance(t *testing.T) {
	tests := map[string]string{
		"bare minimum":      "v=0\nm=audio 4000 RTP/AVP 0\nc=IN IP4 192.0.2.1\n",
		"no v o s t":        "c=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\n",
		"CR only":           "v=0\ro=- 1 1 IN IP4 192.0.2.1\rs=-\rc=IN IP4 192.0.2.1\rt=0 0\rm=audio 4000 RTP/AVP 0\r",
		"no final newline":  "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv",
		"blank lines":       "v=0\r\n\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\r\nm=audio 4000 RTP/AVP 0\r\n\r\n",
		"tabs and spaces":   "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4  192.0.2.1\nt=0 0\nm=audio  4000\tRTP/AVP  0 8 \n",
		"session a= early":  "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\na=tool:x\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
		"origin short":      "v=0\no=- 1 1 IN\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
		"multicast ttl":     "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 224.2.1.1/127\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
		"dynamic no rtpmap": "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0 97\n",
		"ptime fraction":    "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=ptime:20.0\n",
		"bad crypto line":   "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:short\n",
		"rejected bad fmt":  "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\nm=video 0 RTP/AVP x\n",
		"port count":        "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000/2 RTP/AVP 0\n",
	}
	for name, text := range tests {
		s, err := Parse([]byte(text))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if s.Audio == nil || s.Audio.Port != 4000 || len(s.Audio.Codecs) == 0 || s.Audio.Codecs[0].Name != "PCMU" {
			t.Errorf("%s: audio = %+v", name, s.Audio)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"empty":            "",
		"garbage":          "hello world",
		"version 1":        "v=1\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
		"bad port":         "v=0\nc=IN IP4 192.0.2.1\nm=audio 99999 RTP/AVP 0\n",
		"short m=":         "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000\n",
		"no address":       "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
		"host name c=":     "v=0\nc=IN IP4 media.example.com\nm=audio 4000 RTP/AVP 0\n",
		"bad payload type": "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0 200\n",
		"bad nettype":      "v=0\nc=ATM NSAP 192.0.2.1\nm=audio 4000 RTP/AVP 0\n",
		"bad origin id":    "v=0\no=- abc 1 IN IP4 192.0.2.1\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\n",
		"too big":          "v=0\n" + strings.Repeat("a=x\n", MaxSize/4),
	}
	for name, text := range tests {
		_, err := Parse([]byte(text))
		if name == "empty" {
			// An empty body parses (no media); answering it fails.
			if err != nil {
				t.Errorf("empty: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestNoAudio(t *testing.T) {
	for _, text := range []string{
		"",
		"v=0\nc=IN IP4 192.0.2.1\nm=video 4000 RTP/AVP 96\na=rtpmap:96 H264/90000\n",
		"v=0\nc=IN IP4 192.0.2.1\nm=audio 0 RTP/AVP 0\n",
	} {
		s, err := Parse([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Answer(s, testPolicy()); !errors.Is(err, ErrNoAudio) {
			t.Errorf("%q: err = %v, want ErrNoAudio", text, err)
		}
	}
}

func TestAddressHelpers(t *testing.T) {
	s := &Session{ConnAddr: netip.MustParseAddr("192.0.2.1")}
	m := &Media{Port: 5000}
	if got := s.RTCPAddr(m).String(); got != "192.0.2.1:5001" {
		t.Errorf("RTCP = %s", got)
	}
	m.RTCPPort = 6000
	if got := s.RTCPAddr(m).String(); got != "192.0.2.1:6000" {
		t.Errorf("RTCP = %s", got)
	}
	m.Port = 0
	if s.RTPAddr(m).IsValid() || s.RTCPAddr(m).IsValid() {
		t.Error("rejected stream has an address")
	}
}

func TestAnswerTransportErrors(t *testing.T) {
	tests := map[string]error{
		"m=audio 4000 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n": ErrUnsupportedTransport,
		"m=audio 4000 TCP/RTP/AVP 0\r\n":                                      ErrUnsupportedTransport,
		"m=audio 4000 RTP/SAVP 0\r\n":                                         ErrNoCommonCrypto,
	}
	for media, want := range tests {
		s := mustParse(t, []byte("v=0\r\nc=IN IP4 192.0.2.1\r\n"+media))
		if _, err := Answer(s, testPolicy()); !errors.Is(err, want) {
			t.Errorf("%q: err = %v, want %v", media, err, want)
		}
	}
}
