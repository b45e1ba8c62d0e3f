package sdp

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestAnswerVideoDetails checks, for the room-system samples, what the
// video leg will read from a negotiated session: the format chosen and
// what the room system receives (level raised by max-fs/max-mbps, b=),
// the transport profile kept, SRTP on video, a=content, and slides
// accepted or rejected by policy.
func TestAnswerVideoDetails(t *testing.T) {
	tests := []struct {
		file          string
		policy        func(*Policy)
		proto         string
		secure        bool
		mode          int
		fs, mbps      int // what the room system receives
		bitrate       int // the room system's b= for its video
		sessionRate   int
		content       string
		slides        bool
		slidesPT      uint8
		slidesContent string
	}{
		{file: "cisco-room-h264.sdp", proto: "RTP/AVP", mode: 1, fs: 9000, mbps: 245000, bitrate: 5872000, sessionRate: 6000000, content: "main"},
		{
			file: "cisco-room-h264.sdp", policy: func(p *Policy) { p.Slides, p.SlidesPort = true, 10004 },
			proto: "RTP/AVP", mode: 1, fs: 9000, mbps: 245000, bitrate: 5872000, sessionRate: 6000000, content: "main",
			slides: true, slidesPT: 98, slidesContent: "slides",
		},
		{file: "poly-group-h264.sdp", proto: "RTP/AVP", mode: 1, fs: 8160, mbps: 244800, bitrate: 1920000, sessionRate: 2048000, content: "main"},
		{
			file: "poly-group-h264.sdp", policy: func(p *Policy) { p.Slides, p.SlidesPort = true, 10004 },
			proto: "RTP/AVP", mode: 1, fs: 8160, mbps: 244800, bitrate: 1920000, sessionRate: 2048000, content: "main",
			slides: true, slidesPT: 110, slidesContent: "slides",
		},
		{
			// Slides wanted, but no port for them: rejected.
			file: "poly-group-h264.sdp", policy: func(p *Policy) { p.Slides = true },
			proto: "RTP/AVP", mode: 1, fs: 8160, mbps: 244800, bitrate: 1920000, sessionRate: 2048000, content: "main",
		},
		{file: "yealink-vc-h264.sdp", proto: "RTP/AVPF", mode: 1, fs: 3600, mbps: 108000, bitrate: 2048000, sessionRate: 2560000, content: "main"},
		{file: "cisco-ce-srtp-h264.sdp", proto: "RTP/SAVP", secure: true, mode: 1, fs: 9000, mbps: 245000, bitrate: 5872000, sessionRate: 6000000, content: "main"},
		{file: "baresip-h264.sdp", proto: "RTP/AVP", mode: 1, fs: 3600, mbps: 108000, content: "main"},
		{
			// A room system that does mode 0 only (as a policy here: the
			// offer's mode-1 formats are dropped before answering).
			file: "baresip-h264.sdp", proto: "RTP/AVP", mode: 0, fs: 3600, mbps: 108000, content: "main",
		},
	}
	for i, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, ".sdp"), func(t *testing.T) {
			p := testPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			offer := mustParse(t, readSample(t, tc.file))
			if i == len(tests)-1 {
				offer.Video.Codecs = offer.Video.Codecs[:1] // 96: mode 0
			}
			ans, err := Answer(offer, p)
			if err != nil {
				t.Fatal(err)
			}
			v := ans.Video
			if v == nil {
				t.Fatal("video rejected")
			}
			ours, ok := v.H264()
			if !ok || ours.PacketizationMode != tc.mode || v.Proto != tc.proto || v.Secure() != tc.secure || (len(v.Crypto) == 1) != tc.secure {
				t.Errorf("answered %+v %s crypto %d", ours, v.Proto, len(v.Crypto))
			}
			if v.Content != tc.content {
				t.Errorf("content %q", v.Content)
			}
			// What the room system receives: its own format's fmtp.
			theirs, ok := offer.Video.Codec(v.Codecs[0].PT)
			tp, ok2 := ParseH264Fmtp(theirs.Fmtp)
			if !ok || !ok2 {
				t.Fatalf("offered format %d not found", v.Codecs[0].PT)
			}
			if lim := tp.Limits(); lim.FS != tc.fs || lim.MBPS != tc.mbps {
				t.Errorf("room system receives %+v, want fs %d mbps %d", lim, tc.fs, tc.mbps)
			}
			if offer.Video.Bitrate != tc.bitrate || offer.Bitrate != tc.sessionRate {
				t.Errorf("b= %d, session %d", offer.Video.Bitrate, offer.Bitrate)
			}
			if (ans.Slides != nil) != tc.slides {
				t.Fatalf("slides answered %v", ans.Slides != nil)
			}
			if tc.slides {
				sl := ans.Slides
				if sl.Port != p.SlidesPort || sl.Codecs[0].PT != tc.slidesPT || sl.Content != tc.slidesContent || sl.Index != offer.Slides.Index {
					t.Errorf("slides %+v", sl)
				}
			}
			// Every other line is rejected, and the answer is acceptable
			// to the offerer.
			for _, m := range ans.Others {
				if !m.Rejected() {
					t.Errorf("line %d (%s) not rejected", m.Index, m.Type)
				}
			}
			back := mustParse(t, Marshal(ans))
			if err := AcceptAnswer(offer, back); err != nil {
				t.Errorf("AcceptAnswer: %v", err)
			}
			if (back.Slides != nil) != tc.slides {
				t.Errorf("slides parsed back: %v", back.Slides != nil)
			}
		})
	}
}

func TestH264Limits(t *testing.T) {
	for _, tc := range []struct {
		fmtp     string
		fs, mbps int
		br       int
	}{
		{"profile-level-id=42e01f", 3600, 108000, 14_000_000},
		{"profile-level-id=42e00b", 396, 3000, 192_000},
		{"profile-level-id=42f00b", 99, 1485, 128_000}, // level 1b
		{"profile-level-id=428016; max-fs=8160; max-mbps=244800; max-br=7680", 8160, 244800, 7_680_000},
		{"profile-level-id=640028;max-fs=10", 8192, 245760, 20_000_000}, // max-* never lower
		{"profile-level-id=4200ff;max-fs=x", 99, 1485, 64_000},          // unknown level, bad max-fs
		{"", 99, 1485, 64_000},
	} {
		p, ok := ParseH264Fmtp(tc.fmtp)
		if !ok {
			t.Fatalf("%q", tc.fmtp)
		}
		if l := p.Limits(); l.FS != tc.fs || l.MBPS != tc.mbps || l.Bitrate != tc.br {
			t.Errorf("%q: %+v", tc.fmtp, l)
		}
	}
	p, _ := ParseH264Fmtp("packetization-mode=1;sprop-parameter-sets=Z0LAHtoFB+Q=,aM4NiA==;max-fps=3000")
	if p.SpropParameterSets != "Z0LAHtoFB+Q=,aM4NiA==" || p.MaxFPS != 3000 {
		t.Errorf("%+v", p)
	}
	if _, ok := (&Media{Codecs: []Codec{PCMU}}).H264(); ok {
		t.Error("PCMU as H.264")
	}
	if _, ok := (*Media)(nil).Codec(0); ok {
		t.Error("codec of nil media")
	}
}

// TestOfferVideoOptions: our offer with slides (content main and slides,
// RFC 4796), max-fs/max-mbps beyond the level, a held video while audio
// flows, and the room system's answers to it.
func TestOfferVideoOptions(t *testing.T) {
	p := testPolicy()
	p.Slides, p.SlidesPort = true, 10004
	p.H264MaxFS, p.H264MaxMBPS = 8160, 244800
	p.VideoDirection = DirectionRecvOnly
	o, err := Offer(p)
	if err != nil {
		t.Fatal(err)
	}
	if o.Video.Content != "main" || o.Slides == nil || o.Slides.Index != 2 || o.Slides.Content != "slides" || o.Slides.Port != 10004 {
		t.Fatalf("video %+v slides %+v", o.Video, o.Slides)
	}
	if o.Audio.Direction != DirectionSendRecv || o.Video.Direction != DirectionRecvOnly || o.Slides.Direction != DirectionRecvOnly {
		t.Errorf("directions %v %v %v", o.Audio.Direction, o.Video.Direction, o.Slides.Direction)
	}
	if f := o.Video.Codecs[0].Fmtp; !strings.HasSuffix(f, ";max-mbps=244800;max-fs=8160") {
		t.Errorf("fmtp %s", f)
	}
	// A room system's answer that leaves out a=content: the third line is
	// still the slides.
	back := mustParse(t, Marshal(o))
	p2 := Policy{Addr: mustAddr("192.0.2.9"), AudioPort: 5000, Video: true, VideoPort: 5002, Slides: true, SlidesPort: 5004}
	ans, err := Answer(back, p2)
	if err != nil || ans.Slides == nil || ans.Video.Direction != DirectionSendOnly {
		t.Fatalf("answer %v %+v", err, ans)
	}
	ans.Video.Content, ans.Slides.Content = "", ""
	parsed := mustParse(t, Marshal(ans))
	if parsed.Slides != nil {
		t.Fatal("content-less slides parsed as slides")
	}
	if err := AcceptAnswer(o, parsed); err != nil || parsed.Slides == nil || parsed.Slides.Index != 2 || parsed.Video.Index != 1 {
		t.Errorf("AcceptAnswer %v: video %+v slides %+v", err, parsed.Video, parsed.Slides)
	}
}

// TestDelayedOfferVideo: room systems' answers to our offer (delayed
// offer, dial-out): the format they chose, what they receive, and answers
// that name a format we did not offer.
func TestDelayedOfferVideo(t *testing.T) {
	o, err := Offer(testPolicy())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file     string
		pt       uint8
		mode     int
		fs       int
		bitrate  int
		audioPT  uint8
		feedback int
	}{
		{"answer-cisco-h264.sdp", 96, 1, 9000, 1920000, 0, 2},
		{"answer-poly-mode0.sdp", 98, 0, 3600, 768000, 9, 0},
	} {
		ans := mustParse(t, readSample(t, tc.file))
		if err := AcceptAnswer(o, ans); err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		v := ans.Video
		h, ok := v.H264()
		if !ok || v.Codecs[0].PT != tc.pt || h.PacketizationMode != tc.mode || h.Limits().FS != tc.fs || v.Bitrate != tc.bitrate ||
			ans.Audio.Codecs[0].PT != tc.audioPT || len(v.RTCPFb) != tc.feedback {
			t.Errorf("%s: %v %+v b=%d", tc.file, v.Codecs, h, v.Bitrate)
		}
	}
	// A payload type we did not offer, or a mode that differs from the
	// offered format's.
	for _, bad := range []string{
		"a=rtpmap:120 H264/90000\r\na=fmtp:120 packetization-mode=1\r\n",
		"a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=0\r\n",
		"a=rtpmap:96 VP8/90000\r\n",
	} {
		pt := strings.TrimPrefix(strings.Fields(bad)[0], "a=rtpmap:")
		text := "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n" +
			"m=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" +
			"m=video 5002 RTP/AVP " + pt + "\r\n" + bad
		if err := AcceptAnswer(o, mustParse(t, []byte(text))); !errors.Is(err, ErrNoCommonCodec) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestReinviteVideo walks a room system's call through re-INVITEs that
// add video to an audio call, hold it, resume it, drop it (port 0), and
// hold it from our side: each answer keeps the m= lines, the o= version
// moves on only when the answer changes, and the video's SRTP key stays.
func TestReinviteVideo(t *testing.T) {
	const head = "v=0\r\no=tandberg 7 %d IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\n"
	const audio = "m=audio 2376 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:u39+rlv72woiaUO2UEzYiyvyVTrcFpoNpgWYnHCF\r\n"
	video := func(port int, dir string) string {
		return "m=video " + itoa(port) + " RTP/SAVP 126\r\na=rtpmap:126 H264/90000\r\n" +
			"a=fmtp:126 profile-level-id=42e01f;packetization-mode=1\r\na=rtcp-fb:* nack pli\r\n" +
			"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:qC0yozCGpWmtk/pdhAHD4mzlqIRGVDM1WOSsEKvC\r\na=" + dir + "\r\n"
	}
	steps := []struct {
		name     string
		body     string
		policy   func(*Policy)
		video    bool
		dir      Direction
		lines    int
		version  uint64
		sameKeys bool
	}{
		{name: "audio only", body: audio, lines: 1, version: 1},
		{name: "video added", body: audio + video(2378, "sendrecv"), video: true, dir: DirectionSendRecv, lines: 2, version: 2},
		{name: "refresh", body: audio + video(2378, "sendrecv"), video: true, dir: DirectionSendRecv, lines: 2, version: 2, sameKeys: true},
		{name: "video held", body: audio + video(2378, "sendonly"), video: true, dir: DirectionRecvOnly, lines: 2, version: 3, sameKeys: true},
		{name: "video resumed", body: audio + video(2378, "sendrecv"), video: true, dir: DirectionSendRecv, lines: 2, version: 4, sameKeys: true},
		{
			name: "we hold video", body: audio + video(2378, "sendrecv"), policy: func(p *Policy) { p.VideoDirection = DirectionInactive },
			video: true, dir: DirectionInactive, lines: 2, version: 5, sameKeys: true,
		},
		{name: "video removed", body: audio + video(0, "sendrecv"), lines: 2, version: 6},
	}
	var prev *Session
	var key []byte
	for i, st := range steps {
		p := testPolicy()
		p.Previous = prev
		if st.policy != nil {
			st.policy(&p)
		}
		offer := mustParse(t, []byte(strings.Replace(head, "%d", itoa(i+1), 1)+st.body))
		ans, err := Answer(offer, p)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n := len(ans.media()); n != st.lines || (ans.Video != nil) != st.video {
			t.Fatalf("%s: %d lines, video %v", st.name, n, ans.Video != nil)
		}
		if ans.Origin.SessionVersion != uint64(st.version) || (prev != nil && ans.Origin.SessionID != prev.Origin.SessionID) {
			t.Errorf("%s: origin %+v", st.name, ans.Origin)
		}
		if st.video {
			if ans.Video.Direction != st.dir || ans.Audio.Direction != DirectionSendRecv {
				t.Errorf("%s: video %v audio %v", st.name, ans.Video.Direction, ans.Audio.Direction)
			}
			if st.sameKeys && string(ans.Video.Crypto[0].Key) != string(key) {
				t.Errorf("%s: video key changed", st.name)
			}
			key = ans.Video.Crypto[0].Key
		}
		if err := AcceptAnswer(offer, mustParse(t, Marshal(ans))); err != nil {
			t.Errorf("%s: %v", st.name, err)
		}
		prev = ans
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
