package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
)

// Routing: a room by name, alias or numeric id joins it; a dial-in number
// is answered by the PIN IVR; anything else is 404.
func TestRouting(t *testing.T) {
	f := newFixture(t, nil)
	ag := newAgent(t)
	for _, tc := range []struct {
		user string
		want int
	}{
		{"demo", 200},
		{"DEMO", 200},
		{"4711", 200},
		{f.demo.NumericID, 200},
		{"+15550100", 200},
		{"nosuchroom", 404},
	} {
		p, code := ag.dial(f.uri(tc.user), phoneOpts{})
		if code != tc.want {
			t.Errorf("dial %q: %d, want %d", tc.user, code, tc.want)
		}
		if code == 200 {
			p.hangup()
		}
	}
	f.waitIdle()
	for result, want := range map[string]float64{resultAnswered: 5, resultNotFound: 1} {
		if got := f.metric("roombridge_calls_total", result); got != want {
			t.Errorf("calls_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// A trunk that requires SRTP takes an RTP/SAVP offer (and the audio flows
// encrypted both ways) and refuses a plain one with 488. The fixture's
// signalling is UDP, so the trunk needs srtp_over_plain for SDES at all.
func TestSRTPRequired(t *testing.T) {
	f := newFixtureTrunk(t, sip.Trunk{Name: "local", Allow: loopback, SRTPOverPlain: true},
		func(c *Config) { c.TrunkSRTP = map[string]sdp.SRTPMode{"local": sdp.SRTPRequire} })
	ag := newAgent(t)
	if _, code := ag.dial(f.uri("demo"), phoneOpts{}); code != 488 {
		t.Errorf("plain RTP offer: %d, want 488", code)
	}
	if testing.Short() {
		return
	}
	a, code := ag.dial(f.uri("demo"), phoneOpts{srtp: sdp.SRTPRequire, freq: 440})
	if code != 200 {
		t.Fatalf("SAVP offer: %d", code)
	}
	if !a.answer.Audio.Secure() {
		t.Fatalf("answer is %s", a.answer.Audio.Proto)
	}
	b, code := ag.dial(f.uri("demo"), phoneOpts{srtp: sdp.SRTPRequire, freq: 1000})
	if code != 200 {
		t.Fatalf("SAVP offer: %d", code)
	}
	a.waitHears(1000, 440)
	b.waitHears(440, 1000)
	if q, ok := f.gw.Quality("demo", legIdentity(a.sess.InviteRequest.CallID().Value())); !ok || !q.SRTP {
		t.Errorf("Quality = %+v", q)
	}
	a.hangup()
	b.hangup()
	f.waitIdle()
}

// A delayed offer (INVITE without SDP) gets our offer in the 200 and its
// answer in the ACK.
func TestDelayedOffer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	f := newFixture(t, nil)
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{delayed: true, freq: 440})
	if code != 200 {
		t.Fatalf("delayed offer: %d", code)
	}
	b, code := ag.dial(f.uri("demo"), phoneOpts{freq: 1000})
	if code != 200 {
		t.Fatalf("B: %d", code)
	}
	a.waitHears(1000, 440)
	b.waitHears(440, 1000)
	a.hangup()
	b.hangup()
	f.waitIdle()
}

// Hold by re-INVITE: a sendonly offer is answered recvonly, the gateway
// stops sending to the phone and takes it out of the mix; a sendrecv offer
// resumes both.
func TestHoldResume(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	f := newFixture(t, nil)
	ag := newAgent(t)
	a, _ := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	b, _ := ag.dial(f.uri("demo"), phoneOpts{freq: 1000})
	b.waitHears(440, 1000)

	ans := a.reinvite(sdp.DirectionSendOnly)
	if d := ans.Audio.Direction; d != sdp.DirectionRecvOnly {
		t.Fatalf("hold answered %v, want recvonly", d)
	}
	time.Sleep(100 * time.Millisecond) // packets in flight
	before := a.recv.Load()
	time.Sleep(300 * time.Millisecond)
	if n := a.recv.Load() - before; n > 0 {
		t.Errorf("phone on hold received %d packets", n)
	}
	waitUntil(t, 5*time.Second, "B no longer hearing A", func() bool {
		pw := b.power(440)
		return pw != nil && pw[0] < 0.0001
	})
	if q, _ := f.gw.Quality("demo", legIdentity(a.sess.InviteRequest.CallID().Value())); !q.OnHold {
		t.Error("Quality does not show the hold")
	}

	ans = a.reinvite(sdp.DirectionSendRecv)
	if d := ans.Audio.Direction; d != sdp.DirectionSendRecv {
		t.Fatalf("resume answered %v, want sendrecv", d)
	}
	a.waitHears(1000, 440)
	b.waitHears(440, 1000)
	a.hangup()
	b.hangup()
	f.waitIdle()
}

// A phone that stops sending RTP is hung up with BYE after the RTP timeout.
func TestRTPTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RTPTimeout = 700 * time.Millisecond })
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("dial: %d", code)
	}
	time.Sleep(200 * time.Millisecond)
	a.sendOn.Store(false)
	a.waitBye(5 * time.Second)
	f.waitIdle()
}

// Removing the participant through the room Directory (a kick from the
// API) ends the call with BYE.
func TestKick(t *testing.T) {
	f := newFixture(t, nil)
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("dial: %d", code)
	}
	ps := f.sipParticipants("demo")
	if len(ps) != 1 {
		t.Fatalf("participants: %+v", ps)
	}
	if err := f.sfu.RemoveParticipant(context.Background(), "demo", ps[0].ID, "kicked"); err != nil {
		t.Fatal(err)
	}
	a.waitBye(5 * time.Second)
	f.waitIdle()
}

// Drain refuses new calls with 503 and lets the ones in progress go on;
// Close then ends them with BYE.
func TestDrainAndClose(t *testing.T) {
	f := newFixture(t, nil)
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("dial: %d", code)
	}
	f.gw.Drain()
	if _, code := ag.dial(f.uri("demo"), phoneOpts{}); code != 503 {
		t.Errorf("dial while draining: %d, want 503", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := f.gw.Wait(ctx); err == nil || !strings.Contains(err.Error(), "1 calls") {
		t.Errorf("Wait = %v", err)
	}
	if err := f.gw.Close(); err != nil {
		t.Fatal(err)
	}
	a.waitBye(5 * time.Second)
	f.waitIdle()
}
