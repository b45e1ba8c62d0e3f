package gateway

import (
	"testing"
	"time"

	"github.com/pion/srtp/v3"

	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
)

// SDES keys travel only over SIP/TLS. Over UDP, without the trunk's
// srtp_over_plain: an RTP/SAVP offer gets 488, a best-effort RTP/AVP offer
// with a=crypto is answered plain, with no key of ours in the answer; a
// trunk that requires SRTP refuses the call (488).
func TestSDESOnlyOverTLS(t *testing.T) {
	f := newFixture(t, nil)
	ag := newAgent(t)
	if _, code := ag.dial(f.uri("demo"), phoneOpts{srtp: sdp.SRTPRequire}); code != 488 {
		t.Errorf("RTP/SAVP offer over UDP: %d, want 488", code)
	}
	p, code := ag.dial(f.uri("demo"), phoneOpts{srtp: sdp.SRTPRequire, bestEffort: true})
	if code != 200 {
		t.Fatalf("best-effort SRTP offer over UDP: %d, want 200 (plain)", code)
	}
	if p.answer.Audio.Secure() || len(p.answer.Audio.Crypto) != 0 {
		t.Errorf("answer over UDP is %s with %d a=crypto lines: SDES keys in clear", p.answer.Audio.Proto, len(p.answer.Audio.Crypto))
	}
	p.hangup()
	f.waitIdle()

	req := newFixture(t, func(c *Config) { c.TrunkSRTP = map[string]sdp.SRTPMode{"local": sdp.SRTPRequire} })
	for _, o := range []phoneOpts{{}, {srtp: sdp.SRTPRequire}} {
		if _, code := ag.dial(req.uri("demo"), o); code != 488 {
			t.Errorf("trunk requiring SRTP, UDP call offering %v: %d, want 488", o.srtp, code)
		}
	}
}

// A re-INVITE with a new key re-keys the leg (RFC 4568 §7.1.4): the other
// phone goes on hearing the one that changed its key, and it goes on
// hearing the room. A re-INVITE that drops SRTP is refused (488): a
// downgrade, not a re-key.
func TestSRTPRekeyByReInvite(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	f := newFixtureTrunk(t, sip.Trunk{Name: "local", Allow: loopback, SRTPOverPlain: true},
		func(c *Config) { c.TrunkSRTP = map[string]sdp.SRTPMode{"local": sdp.SRTPRequire} })
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{srtp: sdp.SRTPRequire, freq: 440})
	if code != 200 {
		t.Fatalf("A: %d", code)
	}
	b, code := ag.dial(f.uri("demo"), phoneOpts{srtp: sdp.SRTPRequire, freq: 1000})
	if code != 200 {
		t.Fatalf("B: %d", code)
	}
	a.waitHears(1000, 440)
	b.waitHears(440, 1000)

	a.rekey()
	for _, p := range []struct {
		ph         *phone
		hear, self float64
	}{{b, 440, 1000}, {a, 1000, 440}} {
		heard := p.ph.waitHeard(p.ph.heard.total(), time.Second)
		if on, off := tone.Power(heard, p.ph.rate, p.hear), tone.Power(heard, p.ph.rate, p.self); on < 0.002 || off > on/100 {
			t.Errorf("phone sending %v Hz after the re-key: power at %v %.4g, at %v %.4g", p.ph.opts.freq, p.hear, on, p.self, off)
		}
	}
	if q, ok := f.gw.Quality("demo", legIdentity(a.sess.InviteRequest.CallID().Value())); !ok || !q.SRTP {
		t.Errorf("Quality after the re-key = %+v", q)
	}
	if code := a.reinviteRaw(func(o *sdp.Session) { o.Audio.Proto, o.Audio.Crypto = "RTP/AVP", nil }); code != 488 {
		t.Errorf("re-INVITE dropping SRTP: %d, want 488", code)
	}
	a.hangup()
	b.hangup()
	f.waitIdle()
}

// rekey re-offers the phone's SDP with a new key of the same tag and suite,
// and switches its own session to it once the gateway has answered.
func (p *phone) rekey() {
	t := p.a.t
	t.Helper()
	var keys *rtp.SRTPKeys
	code := p.reinviteRaw(func(o *sdp.Session) {
		old := o.Audio.Crypto[0]
		c, err := sdp.NewCrypto(old.Tag, old.Suite)
		if err != nil {
			t.Fatal(err)
		}
		o.Audio.Crypto = []sdp.Crypto{c}
	}, func(offer, answer *sdp.Session) {
		ours, theirs, ok := sdp.MatchCrypto(offer.Audio, answer.Audio)
		if !ok {
			t.Fatal("the answer to the re-key matches no key of the offer")
		}
		keys = &rtp.SRTPKeys{
			Profile:  srtp.ProtectionProfile(ours.Suite.ProfileID()),
			LocalKey: ours.MasterKey(), LocalSalt: ours.MasterSalt(),
			RemoteKey: theirs.MasterKey(), RemoteSalt: theirs.MasterSalt(),
		}
	})
	if code != 200 {
		t.Fatalf("re-key re-INVITE: %d", code)
	}
	if err := p.rtp.Rekey(keys); err != nil {
		t.Fatal(err)
	}
}
