package sdp

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testPolicy() Policy {
	return Policy{
		Addr:      netip.MustParseAddr("192.0.2.1"),
		AudioPort: 10000,
		Video:     true,
		VideoPort: 10002,
		RTCPMux:   true,
	}
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answerCase describes what answering one corpus sample must give.
type answerCase struct {
	file   string
	policy func(*Policy)
	err    error

	codec     string // rtpmap of the answered audio codec
	pt        uint8
	tePT      int // -1: no telephone-event answered
	teClock   uint32
	dir       Direction
	ptime     int
	suite     CryptoSuite // SuiteUnknown: plain RTP
	cryptoTag uint32
	proto     string
	rtcpMux   bool
	video     string // answered H.264 fmtp, "" when video is rejected
	videoPT   uint8
	videoFb   []string
	mlines    int
}

var answerCases = []answerCase{
	{
		file: "cisco-room-h264.sdp", codec: "PCMU/8000", pt: 0, tePT: 105, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP",
		video:   "profile-level-id=42801f;packetization-mode=1;level-asymmetry-allowed=1",
		videoPT: 98, videoFb: []string{"98 nack pli", "98 ccm fir", "98 ccm tmmbr"}, mlines: 5,
	},
	{
		file: "cisco-room-h264.sdp", policy: func(p *Policy) { p.Video = false },
		codec: "PCMU/8000", pt: 0, tePT: 105, teClock: 8000, dir: DirectionSendRecv, ptime: 20,
		proto: "RTP/AVP", mlines: 5,
	},
	{
		// Only constrained high: the answer must say the level and profile
		// of the offer.
		file: "cisco-room-h264.sdp", policy: func(p *Policy) { p.H264Profiles = []H264Profile{H264ConstrainedHigh} },
		codec: "PCMU/8000", pt: 0, tePT: 105, teClock: 8000, dir: DirectionSendRecv, ptime: 20,
		proto: "RTP/AVP", mlines: 5,
		// No level-asymmetry-allowed in the offer: level min(0x16, 0x1f).
		video:   "profile-level-id=640c16;packetization-mode=1;level-asymmetry-allowed=1",
		videoPT: 126, videoFb: []string{"126 nack pli", "126 ccm fir", "126 ccm tmmbr"},
	},
	{
		file: "cisco-room-h264.sdp", policy: func(p *Policy) { p.Codecs = []Codec{G722, PCMU} },
		codec: "G722/8000", pt: 9, tePT: 105, teClock: 8000, dir: DirectionSendRecv, ptime: 20,
		proto: "RTP/AVP", mlines: 5,
		video:   "profile-level-id=42801f;packetization-mode=1;level-asymmetry-allowed=1",
		videoPT: 98, videoFb: []string{"98 nack pli", "98 ccm fir", "98 ccm tmmbr"},
	},
	{
		// baresip 1.0 with avcodec (recorded by test.TestBaresipVideo):
		// H.264 in modes 0 and 1 at 42e01f, "* nack pli", content main.
		file: "baresip-h264.sdp", codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 2,
		video:   "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
		videoPT: 97, videoFb: []string{"97 nack pli"},
	},
	{
		// Poly Group Series style: high and baseline, mode 1 and 0,
		// spaces after the semicolons, max-* raising level 2.2 to 1080p,
		// a BFCP line and a slides video.
		file: "poly-group-h264.sdp", codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 4,
		video:   "profile-level-id=428016;packetization-mode=1;level-asymmetry-allowed=1",
		videoPT: 110, videoFb: []string{"110 ccm fir", "110 ccm tmmbr", "110 nack pli"},
	},
	{
		// Yealink VC style: RTP/AVPF, upper-case profile-level-id,
		// generic NACK and REMB offered (and answered).
		file: "yealink-vc-h264.sdp", codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 2,
		video:   "profile-level-id=42801f;packetization-mode=1;level-asymmetry-allowed=1",
		videoPT: 99, videoFb: []string{"99 nack", "99 nack pli", "99 ccm fir", "99 goog-remb"},
	},
	{
		// Cisco CE style with SDES on audio and video.
		file: "cisco-ce-srtp-h264.sdp", codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/SAVP", suite: AES_CM_128_HMAC_SHA1_80, cryptoTag: 1, mlines: 2,
		video:   "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
		videoPT: 126, videoFb: []string{"126 nack pli", "126 ccm fir"},
	},
	{
		// The gateway today: no video in the policy, every video line
		// (and BFCP) answered with port 0.
		file: "poly-group-h264.sdp", policy: func(p *Policy) { p.Video = false },
		codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 4,
	},
	{
		file: "cisco-ce-srtp-h264.sdp", policy: func(p *Policy) { p.Video = false },
		codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/SAVP", suite: AES_CM_128_HMAC_SHA1_80, cryptoTag: 1, mlines: 2,
	},
	{
		file: "poly-g722.sdp", codec: "PCMU/8000", pt: 0, tePT: 127, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "asterisk.sdp", codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "asterisk.sdp", policy: func(p *Policy) { p.Codecs = []Codec{PCMA, PCMU} },
		codec: "PCMA/8000", pt: 8, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "freeswitch-opus.sdp", codec: "PCMU/8000", pt: 0, tePT: 100, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		// Opus preferred: telephone-event must follow it to 48000.
		file: "freeswitch-opus.sdp", policy: func(p *Policy) { p.Codecs = []Codec{Opus, PCMU} },
		codec: "opus/48000/2", pt: 102, tePT: 101, teClock: 48000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "opus-only.sdp", codec: "opus/48000/2", pt: 96, tePT: 101, teClock: 48000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", rtcpMux: true, mlines: 1,
	},
	{
		file: "opus-only.sdp", policy: func(p *Policy) { p.Codecs = []Codec{PCMU, PCMA} }, err: ErrNoCommonCodec,
	},
	{
		file: "trunk-pcma.sdp", codec: "PCMA/8000", pt: 8, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "trunk-pcma.sdp", policy: func(p *Policy) { p.SRTP = SRTPRequire }, err: ErrSRTPRequired,
	},
	{
		file: "savp-cisco.sdp", codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/SAVP", suite: AEAD_AES_256_GCM, cryptoTag: 1, mlines: 1,
	},
	{
		file: "savp-cisco.sdp", policy: func(p *Policy) { p.Suites = []CryptoSuite{AES_CM_128_HMAC_SHA1_32} },
		codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/SAVP", suite: AES_CM_128_HMAC_SHA1_32, cryptoTag: 4, mlines: 1,
	},
	{
		file: "savp-cisco.sdp", policy: func(p *Policy) { p.SRTP = SRTPRequire },
		codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/SAVP", suite: AEAD_AES_256_GCM, cryptoTag: 1, mlines: 1,
	},
	{
		file: "savp-cisco.sdp", policy: func(p *Policy) { p.SRTP = SRTPDisable }, err: ErrSRTPNotAllowed,
	},
	{
		file: "savp-cisco.sdp", policy: func(p *Policy) { p.Suites = []CryptoSuite{AES_256_CM_HMAC_SHA1_80} }, err: ErrNoCommonCrypto,
	},
	{
		file: "freeswitch-best-effort-srtp.sdp", codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", suite: AES_CM_128_HMAC_SHA1_80, cryptoTag: 2, mlines: 1,
	},
	{
		file: "freeswitch-best-effort-srtp.sdp", policy: func(p *Policy) { p.SRTP = SRTPDisable },
		codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "freeswitch-best-effort-srtp.sdp", policy: func(p *Policy) {
			p.SRTP = SRTPRequire
			p.Suites = []CryptoSuite{AES_256_CM_HMAC_SHA1_80}
		},
		codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", suite: AES_256_CM_HMAC_SHA1_80, cryptoTag: 1, mlines: 1,
	},
	{
		file: "ipv6.sdp", policy: func(p *Policy) { p.Addr = netip.MustParseAddr("2001:db8::100") },
		codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendRecv, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "hold-sendonly.sdp", codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionRecvOnly, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "hold-inactive.sdp", codec: "PCMU/8000", pt: 0, tePT: -1,
		dir: DirectionInactive, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "hold-legacy.sdp", codec: "PCMU/8000", pt: 0, tePT: -1,
		dir: DirectionRecvOnly, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "recvonly.sdp", codec: "PCMU/8000", pt: 0, tePT: -1,
		dir: DirectionSendOnly, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		// We put the peer on hold ourselves while it offers sendrecv.
		file: "asterisk.sdp", policy: func(p *Policy) { p.Direction = DirectionSendOnly },
		codec: "PCMU/8000", pt: 0, tePT: 101, teClock: 8000,
		dir: DirectionSendOnly, ptime: 20, proto: "RTP/AVP", mlines: 1,
	},
	{
		file: "g729-t38.sdp", err: ErrNoCommonCodec,
	},
	{
		file: "messy.sdp", codec: "PCMU/8000", pt: 0, tePT: 96, teClock: 8000,
		dir: DirectionSendRecv, ptime: 30, proto: "RTP/AVP", mlines: 1,
	},
}

func TestAnswerCorpus(t *testing.T) {
	for _, tc := range answerCases {
		name := strings.TrimSuffix(tc.file, ".sdp")
		t.Run(name, func(t *testing.T) {
			p := testPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			offer, err := Parse(readSample(t, tc.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			ans, err := Answer(offer, p)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Answer error = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Answer: %v", err)
			}
			checkAnswer(t, tc, p, ans)

			// The marshalled answer must parse back to the same choices,
			// and be a valid answer to the offer from the offerer's side.
			text := Marshal(ans)
			back, err := Parse(text)
			if err != nil {
				t.Fatalf("Parse(Marshal(answer)): %v\n%s", err, text)
			}
			checkAnswer(t, tc, p, back)
			if err := AcceptAnswer(offer, back); err != nil {
				t.Errorf("AcceptAnswer(offer, our answer): %v\n%s", err, text)
			}
		})
	}
}

func checkAnswer(t *testing.T, tc answerCase, p Policy, ans *Session) {
	t.Helper()
	if n := len(ans.media()); n != tc.mlines {
		t.Errorf("answer has %d m= lines, want %d", n, tc.mlines)
	}
	a := ans.Audio
	if a == nil {
		t.Fatal("no audio in answer")
	}
	if len(a.Codecs) != 1 {
		t.Fatalf("answered codecs %v, want exactly one", a.Codecs)
	}
	if got := a.Codecs[0].rtpmap(); got != tc.codec || a.Codecs[0].PT != tc.pt {
		t.Errorf("codec = %d %s, want %d %s", a.Codecs[0].PT, got, tc.pt, tc.codec)
	}
	switch {
	case tc.tePT < 0 && a.TelephoneEvent != nil:
		t.Errorf("telephone-event %v answered, want none", a.TelephoneEvent)
	case tc.tePT >= 0 && a.TelephoneEvent == nil:
		t.Errorf("no telephone-event, want PT %d", tc.tePT)
	case tc.tePT >= 0 && (int(a.TelephoneEvent.PT) != tc.tePT || a.TelephoneEvent.ClockRate != tc.teClock):
		t.Errorf("telephone-event = %v, want %d/%d", a.TelephoneEvent, tc.tePT, tc.teClock)
	}
	if a.Direction != tc.dir {
		t.Errorf("direction = %v, want %v", a.Direction, tc.dir)
	}
	if a.Ptime != tc.ptime {
		t.Errorf("ptime = %d, want %d", a.Ptime, tc.ptime)
	}
	if a.Proto != tc.proto {
		t.Errorf("proto = %s, want %s", a.Proto, tc.proto)
	}
	if a.Port != p.AudioPort {
		t.Errorf("audio port = %d, want %d", a.Port, p.AudioPort)
	}
	if a.RTCPMux != tc.rtcpMux {
		t.Errorf("rtcp-mux = %v, want %v", a.RTCPMux, tc.rtcpMux)
	}
	if got := ans.RTPAddr(a); got != netip.AddrPortFrom(p.Addr, uint16(p.AudioPort)) {
		t.Errorf("answer RTP address = %v", got)
	}
	if tc.suite == SuiteUnknown {
		if len(a.Crypto) != 0 {
			t.Errorf("crypto %v answered to a plain offer", a.Crypto)
		}
	} else {
		if len(a.Crypto) != 1 {
			t.Fatalf("answered %d crypto lines, want 1", len(a.Crypto))
		}
		c := a.Crypto[0]
		if c.Suite != tc.suite || c.Tag != tc.cryptoTag {
			t.Errorf("crypto = %d %v, want %d %v", c.Tag, c.Suite, tc.cryptoTag, tc.suite)
		}
		if len(c.MasterKey()) != tc.suite.KeyLen() || len(c.MasterSalt()) != tc.suite.SaltLen() {
			t.Errorf("key/salt = %d/%d bytes", len(c.MasterKey()), len(c.MasterSalt()))
		}
	}
	v := ans.Video
	if tc.video == "" {
		if v != nil {
			t.Errorf("video answered %v, want rejected", v.Codecs)
		}
		for _, m := range ans.Others {
			if !m.Rejected() {
				t.Errorf("extra m= line %d (%s) not rejected", m.Index, m.Type)
			}
		}
		return
	}
	if v == nil {
		t.Fatal("video rejected, want answered")
	}
	if len(v.Codecs) != 1 || v.Codecs[0].Fmtp != tc.video || v.Codecs[0].PT != tc.videoPT {
		t.Errorf("video = %v, want %d %s", v.Codecs, tc.videoPT, tc.video)
	}
	if v.Port != p.VideoPort {
		t.Errorf("video port = %d", v.Port)
	}
	var fbs []string
	for _, f := range v.RTCPFb {
		fbs = append(fbs, f.String())
	}
	if strings.Join(fbs, ",") != strings.Join(tc.videoFb, ",") {
		t.Errorf("rtcp-fb = %q, want %q", fbs, tc.videoFb)
	}
}

// TestAnswerTwoAudioLines covers devices that offer SRTP and plain RTP as
// two audio m= lines: we take the secure one unless SRTP is disabled, and
// reject the other.
func TestAnswerTwoAudioLines(t *testing.T) {
	offer := mustParse(t, []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n"+
		"m=audio 5000 RTP/AVP 0\r\n"+
		"m=audio 5002 RTP/SAVP 0\r\n"+
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"))
	for mode, want := range map[SRTPMode]int{SRTPAllow: 1, SRTPRequire: 1, SRTPDisable: 0} {
		p := testPolicy()
		p.SRTP = mode
		ans, err := Answer(offer, p)
		if err != nil {
			t.Fatalf("%v: %v", mode, err)
		}
		if ans.Audio.Index != want || len(ans.Others) != 1 || !ans.Others[0].Rejected() {
			t.Errorf("%v: audio at %d, others %+v", mode, ans.Audio.Index, ans.Others)
		}
		if err := AcceptAnswer(offer, mustParse(t, Marshal(ans))); err != nil {
			t.Errorf("%v: %v", mode, err)
		}
	}
}

func TestSRTPModeNames(t *testing.T) {
	for _, m := range []SRTPMode{SRTPDisable, SRTPAllow, SRTPRequire} {
		if got, err := ParseSRTPMode(m.String()); err != nil || got != m {
			t.Errorf("%v: %v %v", m, got, err)
		}
	}
	if _, err := ParseSRTPMode("maybe"); err == nil || SRTPUnknown.String() != "unknown" {
		t.Error("bad mode accepted")
	}
}
