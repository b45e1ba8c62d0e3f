package sdp

import (
	"net/netip"
	"testing"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestClassifyH264(t *testing.T) {
	tests := map[string]H264Profile{
		"42e01f": H264ConstrainedBaseline,
		"42c01e": H264ConstrainedBaseline,
		"4d401f": H264Main, // constraint_set1 only: main
		"4d801f": H264ConstrainedBaseline,
		"42801e": H264Baseline,
		"42001f": H264Baseline,
		"4d001f": H264Main,
		"640c1f": H264ConstrainedHigh,
		"64001f": H264High,
		"f4001f": H264ProfileUnknown,
	}
	for plid, want := range tests {
		p, ok := ParseH264Fmtp("packetization-mode=1;profile-level-id=" + plid)
		if !ok || p.Profile != want {
			t.Errorf("%s: %v, want %v", plid, p.Profile, want)
		}
	}
	p, ok := ParseH264Fmtp("")
	if !ok || p.Profile != H264Baseline || p.Level != 10 || p.PacketizationMode != 0 {
		t.Errorf("defaults: %+v", p)
	}
	for _, bad := range []string{"profile-level-id=42e0", "profile-level-id=zzzzzz", "packetization-mode=3", "packetization-mode=x"} {
		if _, ok := ParseH264Fmtp(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	for p := H264ProfileUnknown; p <= H264High+1; p++ {
		if p.String() == "" {
			t.Errorf("%d has no name", p)
		}
	}
}

func TestAnswerH264Modes(t *testing.T) {
	offer := "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n" +
		"m=audio 5000 RTP/AVP 0\r\n" +
		"m=video 5002 RTP/AVP 96 97 98\r\n" +
		"a=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f;packetization-mode=2\r\n" +
		"a=rtpmap:97 H264/90000\r\na=fmtp:97 profile-level-id=42e00d\r\n" +
		"a=rtpmap:98 VP8/90000\r\n"
	ans, err := Answer(mustParse(t, []byte(offer)), testPolicy())
	if err != nil {
		t.Fatal(err)
	}
	v := ans.Video
	// Mode 2 is not supported; mode 0 is, at the offered level 1.3 since
	// the offer does not allow level asymmetry. No rtcp-fb offered, none
	// answered.
	if v == nil || v.Codecs[0].PT != 97 || v.Codecs[0].Fmtp != "profile-level-id=42e00d;packetization-mode=0;level-asymmetry-allowed=1" || len(v.RTCPFb) != 0 {
		t.Fatalf("video = %+v", v)
	}

	// VP8 only: video rejected, audio kept.
	vp8 := "v=0\r\nc=IN IP4 192.0.2.9\r\nm=audio 5000 RTP/AVP 0\r\nm=video 5002 RTP/AVP 98\r\na=rtpmap:98 VP8/90000\r\n"
	ans, err = Answer(mustParse(t, []byte(vp8)), testPolicy())
	if err != nil || ans.Video != nil || len(ans.Others) != 1 || !ans.Others[0].Rejected() {
		t.Fatalf("VP8 answer: %v %+v", err, ans)
	}

	// SRTP audio with plain video: video rejected rather than sent in clear.
	mixed := "v=0\r\nc=IN IP4 192.0.2.9\r\nm=audio 5000 RTP/SAVP 0\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n" +
		"m=video 5002 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 profile-level-id=42e01f;packetization-mode=1\r\n"
	ans, err = Answer(mustParse(t, []byte(mixed)), testPolicy())
	if err != nil || ans.Video != nil || !ans.Audio.Secure() {
		t.Fatalf("mixed answer: %v %+v", err, ans)
	}
}
