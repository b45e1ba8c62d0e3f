package sdp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestOfferDefaults(t *testing.T) {
	p := testPolicy()
	p.Codecs = []Codec{PCMU, PCMA, G722, Opus}
	o, err := Offer(p)
	if err != nil {
		t.Fatal(err)
	}
	a := o.Audio
	if a.Proto != "RTP/AVP" || a.Port != 10000 || a.Index != 0 || len(a.Crypto) != 0 {
		t.Errorf("audio = %+v", a)
	}
	pts := a.formats()
	// PCMU, PCMA, G722, opus, then telephone-event/8000 and /48000.
	if got := strings.Join(pts, " "); got != "0 8 9 111 101 102" {
		t.Errorf("audio formats = %s", got)
	}
	if te := a.TelephoneEvents; len(te) != 2 || te[0].ClockRate != 8000 || te[1].ClockRate != 48000 {
		t.Errorf("telephone-events = %v", te)
	}
	v := o.Video
	if v == nil || v.Index != 1 || len(v.Codecs) != 3 {
		t.Fatalf("video = %+v", v)
	}
	for i, want := range []string{
		"profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
		"profile-level-id=42001f;packetization-mode=1;level-asymmetry-allowed=1",
		"profile-level-id=42e01f;packetization-mode=0;level-asymmetry-allowed=1",
	} {
		if v.Codecs[i].Fmtp != want || v.Codecs[i].PT != uint8(96+i) {
			t.Errorf("video codec %d = %v %s", i, v.Codecs[i], v.Codecs[i].Fmtp)
		}
	}
	// Our own offer, parsed back, must be answerable by our own policy.
	back, err := Parse(Marshal(o))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Answer(back, p); err != nil {
		t.Errorf("answering our own offer: %v", err)
	}
}

func TestOfferSRTPRequire(t *testing.T) {
	p := testPolicy()
	p.SRTP = SRTPRequire
	o, err := Offer(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Media{o.Audio, o.Video} {
		if m.Proto != "RTP/SAVP" || len(m.Crypto) != len(DefaultSuites) {
			t.Fatalf("%s: %s with %d crypto lines", m.Type, m.Proto, len(m.Crypto))
		}
		for i, c := range m.Crypto {
			if c.Tag != uint32(i+1) || c.Suite != DefaultSuites[i] {
				t.Errorf("%s crypto %d = %d %v", m.Type, i, c.Tag, c.Suite)
			}
		}
	}
	if bytes.Equal(o.Audio.Crypto[0].Key, o.Video.Crypto[0].Key) {
		t.Error("audio and video share a key")
	}
}

func TestInvalidPolicy(t *testing.T) {
	if _, err := Offer(Policy{AudioPort: 1}); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("no address: %v", err)
	}
	p := testPolicy()
	p.AudioPort = 0
	offer, _ := Parse(readSample(t, "asterisk.sdp"))
	if _, err := Answer(offer, p); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("no port: %v", err)
	}
	if _, err := Answer(nil, testPolicy()); !errors.Is(err, ErrNoAudio) {
		t.Errorf("nil offer: %v", err)
	}
}

// TestDelayedOffer checks answers to our offer (INVITE without SDP answered
// in the 200 OK with our offer, the ACK carrying the answer; or dial-out).
func TestDelayedOffer(t *testing.T) {
	tests := []struct {
		file   string
		policy func(*Policy)
		err    error
		codec  string
		video  bool
	}{
		{file: "answer-asterisk-pcma.sdp", codec: "8 PCMA/8000"},
		{file: "answer-asterisk-pcma.sdp", policy: func(p *Policy) { p.SRTP = SRTPRequire }, err: ErrSRTPRequired},
		{file: "answer-cisco-savp.sdp", policy: func(p *Policy) { p.SRTP = SRTPRequire }, codec: "9 G722/8000", video: true},
		{file: "answer-cisco-savp.sdp", err: ErrAnswerMismatch}, // SRTP answer to a plain offer
		{file: "answer-cisco-savp.sdp", policy: func(p *Policy) {
			p.SRTP = SRTPRequire
			p.Suites = []CryptoSuite{AEAD_AES_128_GCM} // tag 1 is then GCM, not the answered suite
		}, err: ErrNoCommonCrypto},
		{file: "answer-g729.sdp", err: ErrNoCommonCodec},
		{file: "answer-rejected.sdp", err: ErrNoAudio},
		{file: "asterisk.sdp", codec: "8 PCMA/8000"}, // one m= line for our two: video taken as rejected
		{file: "answer-three-lines.sdp", err: ErrAnswerMismatch},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, ".sdp"), func(t *testing.T) {
			p := testPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			offer, err := Offer(p)
			if err != nil {
				t.Fatal(err)
			}
			ans, err := Parse(readSample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			err = AcceptAnswer(offer, ans)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ans.Audio.Codecs[0].String(); got != tc.codec {
				t.Errorf("codec = %s, want %s", got, tc.codec)
			}
			if (ans.Video != nil) != tc.video {
				t.Errorf("video = %v, want %v", ans.Video != nil, tc.video)
			}
			if offer.Audio.Secure() {
				ours, theirs, ok := MatchCrypto(offer.Audio, ans.Audio)
				if !ok || ours.Tag != 1 || theirs.Suite != AES_CM_128_HMAC_SHA1_80 || len(theirs.MasterKey()) != 16 {
					t.Errorf("MatchCrypto = %+v %+v %v", ours, theirs, ok)
				}
			}
		})
	}
}

func TestAcceptAnswerDirection(t *testing.T) {
	p := testPolicy()
	p.Video = false
	p.Direction = DirectionSendOnly // we hold the peer
	offer, err := Offer(p)
	if err != nil {
		t.Fatal(err)
	}
	for dir, ok := range map[Direction]bool{
		DirectionRecvOnly: true,
		DirectionInactive: true,
		DirectionSendRecv: false,
		DirectionSendOnly: false,
	} {
		ans, err := Answer(mustParse(t, Marshal(offer)), Policy{Addr: p.Addr, AudioPort: 20000, Direction: dir})
		if err != nil {
			t.Fatal(err)
		}
		// Force the direction to test the check itself.
		ans.Audio.Direction = dir
		if err := AcceptAnswer(offer, mustParse(t, Marshal(ans))); (err == nil) != ok {
			t.Errorf("answer %v to sendonly: err = %v", dir, err)
		}
	}
}

func mustParse(t testing.TB, b []byte) *Session {
	t.Helper()
	s, err := Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return s
}

// TestReinvite walks a call through hold and resume re-INVITEs and a
// session refresh, checking the direction answered, the o= version
// (RFC 3264 §8) and that our SRTP key survives.
func TestReinvite(t *testing.T) {
	p := testPolicy()
	first, err := Answer(mustParse(t, readSample(t, "savp-cisco.sdp")), p)
	if err != nil {
		t.Fatal(err)
	}
	key := first.Audio.Crypto[0].Key

	steps := []struct {
		name    string
		dir     string // offered a= direction
		want    Direction
		version uint64
	}{
		{"refresh", "sendrecv", DirectionSendRecv, 1}, // same SDP: same version
		{"hold", "sendonly", DirectionRecvOnly, 2},
		{"hold again", "sendonly", DirectionRecvOnly, 2},
		{"resume", "sendrecv", DirectionSendRecv, 3},
		{"inactive", "inactive", DirectionInactive, 4},
	}
	prev := first
	base := string(readSample(t, "savp-cisco.sdp"))
	for _, st := range steps {
		offer := mustParse(t, []byte(strings.Replace(base, "a=sendrecv", "a="+st.dir, 1)))
		q := p
		q.Previous = prev
		ans, err := Answer(offer, q)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if ans.Audio.Direction != st.want {
			t.Errorf("%s: direction %v, want %v", st.name, ans.Audio.Direction, st.want)
		}
		if ans.Origin.SessionID != first.Origin.SessionID || ans.Origin.SessionVersion != st.version {
			t.Errorf("%s: origin %d/%d, want %d/%d", st.name, ans.Origin.SessionID, ans.Origin.SessionVersion, first.Origin.SessionID, st.version)
		}
		if !bytes.Equal(ans.Audio.Crypto[0].Key, key) {
			t.Errorf("%s: SRTP key changed", st.name)
		}
		prev = ans
	}
}

// TestReoffer holds the peer from our side with a re-offer that must keep
// the m= lines of the first exchange.
func TestReoffer(t *testing.T) {
	p := testPolicy()
	first, err := Answer(mustParse(t, readSample(t, "cisco-room-h264.sdp")), p)
	if err != nil {
		t.Fatal(err)
	}
	q := p
	q.Previous = first
	q.Direction = DirectionSendOnly
	re, err := Offer(q)
	if err != nil {
		t.Fatal(err)
	}
	lines := re.media()
	if len(lines) != 5 {
		t.Fatalf("re-offer has %d m= lines, want 5", len(lines))
	}
	for i, m := range lines {
		if m.Index != i || m.Type != first.media()[i].Type {
			t.Errorf("line %d: %s at %d", i, m.Type, m.Index)
		}
		if i >= 2 && !m.Rejected() {
			t.Errorf("line %d re-enabled", i)
		}
	}
	if re.Audio.Direction != DirectionSendOnly || re.Video.Direction != DirectionSendOnly {
		t.Errorf("directions %v %v", re.Audio.Direction, re.Video.Direction)
	}
	if re.Origin.SessionID != first.Origin.SessionID || re.Origin.SessionVersion != first.Origin.SessionVersion+1 {
		t.Errorf("origin %+v after %+v", re.Origin, first.Origin)
	}
	if _, err := Parse(Marshal(re)); err != nil {
		t.Error(err)
	}
}

func TestDirectionAnswer(t *testing.T) {
	// RFC 3264 §6.1 with us willing to send and receive.
	for offered, want := range map[Direction]Direction{
		DirectionSendRecv: DirectionSendRecv,
		DirectionUnknown:  DirectionSendRecv,
		DirectionSendOnly: DirectionRecvOnly,
		DirectionRecvOnly: DirectionSendOnly,
		DirectionInactive: DirectionInactive,
	} {
		if got := offered.Answer(true, true); got != want {
			t.Errorf("%v answered %v, want %v", offered, got, want)
		}
	}
	if got := DirectionSendRecv.Answer(false, true); got != DirectionRecvOnly {
		t.Errorf("sendrecv answered while we do not send: %v", got)
	}
	if Direction(99).String() != "unknown" {
		t.Error("out-of-range Direction")
	}
}

// TestReofferWithoutVideo re-offers after video was turned off: the video
// line must stay, rejected, so the m= lines still match (RFC 3264 §8).
func TestReofferWithoutVideo(t *testing.T) {
	p := testPolicy()
	p.Video = false
	first, err := Answer(mustParse(t, readSample(t, "cisco-room-h264.sdp")), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, video := range []bool{false, true} {
		q := p
		q.Previous = first
		q.Video = video
		re, err := Offer(q)
		if err != nil {
			t.Fatal(err)
		}
		lines := re.media()
		if len(lines) != 5 {
			t.Fatalf("video %v: %d m= lines, want 5", video, len(lines))
		}
		for i, m := range lines {
			if m.Index != i || m.Type != first.media()[i].Type {
				t.Errorf("video %v: line %d is %s at %d", video, i, m.Type, m.Index)
			}
		}
		if (re.Video != nil) != video || (video && re.Video.Index != 1) {
			t.Errorf("video %v: re-offer video = %+v", video, re.Video)
		}
	}
}
