package gateway

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/internal/leakcheck"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip/outbound"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

// dialRig is a gateway fixture whose room API dial-outs go through one
// outbound trunk, "carrier", to a uastest server that echoes RTP or SRTP.
type dialRig struct {
	f     *fixture
	uas   *uastest.Server
	calls *dialout.Registry
}

func newDialRig(t *testing.T, transport string, policy DialTrunk) *dialRig {
	t.Helper()
	return newDialRigWith(t, transport, policy, uastest.Config{}, nil)
}

// newDialRigWith is newDialRig with the callee's config and an edit of
// the gateway's.
func newDialRigWith(t *testing.T, transport string, policy DialTrunk, callee uastest.Config, edit func(*Config)) *dialRig {
	t.Helper()
	f := newFixture(t, edit)
	uas := uastest.Start(t, callee)
	m, err := outbound.New(outbound.Config{
		Trunks:    []outbound.Trunk{{Name: "carrier", URI: "sip:" + strings.TrimPrefix(uas.URI("", transport), "sip:@")}},
		TLSConfig: uas.ClientTLS(),
		Logger:    testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	calls, err := dialout.New(dialout.Config{
		Dialer: m, Media: f.gw.DialMedia(map[string]DialTrunk{"carrier": policy}), Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the fixture's: runs before the gateway closes.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := calls.Close(ctx); err != nil {
			t.Error(err)
		}
		if err := m.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return &dialRig{f: f, uas: uas, calls: calls}
}

// waitState waits for the call to reach state.
func (r *dialRig) waitState(t *testing.T, id string, state dialout.State) dialout.Info {
	t.Helper()
	var info dialout.Info
	waitUntil(t, 10*time.Second, "dial-out "+string(state), func() bool {
		info, _ = r.calls.Get(id)
		return info.State == state
	})
	return info
}

// A dial-out through a trunk that requires SRTP, over TLS: the offer
// carries SDES keys, the callee (echoing SRTP) answers, joins room demo,
// and a phone in the room hears its own tone back through it; the call's
// quality says SRTP over TLS. Hanging up frees the leg and its ports.
func TestDialOutSRTPOverTLS(t *testing.T) {
	r := newDialRig(t, "tls", DialTrunk{SRTP: sdp.SRTPRequire})
	p, code := newAgent(t).dial(r.f.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("phone: %d", code)
	}
	info, err := r.calls.Dial(dialout.Request{Room: "demo", To: "+15551234567", Name: "Carrier"})
	if err != nil {
		t.Fatal(err)
	}
	r.waitState(t, info.ID, dialout.StateAnswered)
	waitUntil(t, 5*time.Second, "the callee in the room", func() bool { return len(r.f.sipParticipants("demo")) == 2 })
	p.waitHears(440)
	got, _ := r.calls.Get(info.ID)
	q, ok := got.Quality.(LegQuality)
	if !ok || !q.SRTP || q.Transport != "tls" || q.PacketsReceived == 0 || q.Codec != "PCMU" {
		t.Errorf("quality %+v", got.Quality)
	}
	if _, err := r.calls.Hangup(info.ID); err != nil {
		t.Fatal(err)
	}
	if end := r.waitState(t, info.ID, dialout.StateEnded); end.Cause != dialout.CauseHangup || end.Quality == nil {
		t.Errorf("ended %+v", end)
	}
	waitUntil(t, 5*time.Second, "the callee gone", func() bool { return len(r.f.sipParticipants("demo")) == 1 })
	p.hangup()
	r.f.waitIdle()
}

// SDES keys never go over plain signalling: a trunk that requires SRTP
// but is reached over UDP (without srtp_over_plain, which the config
// refuses anyway) sends no INVITE.
func TestDialOutNoSDESOverUDP(t *testing.T) {
	r := newDialRig(t, "udp", DialTrunk{SRTP: sdp.SRTPRequire})
	info, err := r.calls.Dial(dialout.Request{Room: "demo", To: "+15551234567"})
	if err != nil {
		t.Fatal(err)
	}
	end := r.waitState(t, info.ID, dialout.StateEnded)
	if answered, _, _, _ := r.uas.Counts(); answered != 0 || end.Cause != dialout.CauseFailed {
		t.Errorf("ended %+v; the callee answered %d calls", end, answered)
	}
	r.f.waitIdle()
}

// Gateway.Close ends answered dial-outs (cause shutdown) and leaves no
// goroutine of theirs behind; a dial-out's leg is refused once the
// gateway drains.
func TestDialOutEndsWithGateway(t *testing.T) {
	r := newDialRig(t, "udp", DialTrunk{})
	ignore := []goleak.Option{goleak.IgnoreCurrent(), goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection")}
	info, err := r.calls.Dial(dialout.Request{Room: "demo", To: "+15551234567"})
	if err != nil {
		t.Fatal(err)
	}
	r.waitState(t, info.ID, dialout.StateAnswered)
	if err := r.f.gw.Close(); err != nil {
		t.Fatal(err)
	}
	if end := r.waitState(t, info.ID, dialout.StateEnded); end.Cause != dialout.CauseShutdown {
		t.Errorf("ended %+v", end)
	}
	_, err = r.f.gw.DialMedia(nil)(context.Background(), dialout.Info{ID: "x", Room: "demo", Participant: "x"})
	if !errors.Is(err, ErrDraining) {
		t.Errorf("media after Close: %v", err)
	}
	waitUntil(t, 5*time.Second, "the callee gone", func() bool { return len(r.f.sipParticipants("demo")) == 0 })
	leakcheck.Verify(t, 10*time.Second, ignore...)
}

// A callee that answers and then sends nothing is hung up (BYE) once the
// RTP timeout passes, with cause rtp_timeout, and leaves the room.
func TestDialOutRTPTimeout(t *testing.T) {
	r := newDialRigWith(t, "udp", DialTrunk{}, uastest.Config{Silent: true}, func(c *Config) { c.RTPTimeout = time.Second })
	info, err := r.calls.Dial(dialout.Request{Room: "demo", To: "+15551234567"})
	if err != nil {
		t.Fatal(err)
	}
	r.waitState(t, info.ID, dialout.StateAnswered)
	if end := r.waitState(t, info.ID, dialout.StateEnded); end.Cause != dialout.CauseRTPTimeout {
		t.Errorf("ended %+v", end)
	}
	waitUntil(t, 5*time.Second, "BYE at the callee", func() bool { _, _, _, byes := r.uas.Counts(); return byes == 1 })
	r.f.waitIdle()
}

// A trunk with dtmf: info gets a dial's digits as SIP INFO
// (application/dtmf-relay), one per key, not as RFC 4733 events.
func TestDialOutDTMFAsINFO(t *testing.T) {
	var events atomic.Int64
	r := newDialRigWith(t, "udp", DialTrunk{DTMF: dtmf.ModeINFO}, uastest.Config{OnRTP: func(pkt *rtp.Packet) {
		if pkt.PayloadType != 0 {
			events.Add(1)
		}
	}}, nil)
	info, err := r.calls.Dial(dialout.Request{Room: "demo", To: "+15551234567", DTMF: "12#"})
	if err != nil {
		t.Fatal(err)
	}
	r.waitState(t, info.ID, dialout.StateAnswered)
	waitUntil(t, 5*time.Second, "three INFOs", func() bool { return len(r.uas.Infos()) == 3 })
	var keys string
	for _, in := range r.uas.Infos() {
		if in.ContentType != "application/dtmf-relay" {
			t.Errorf("INFO %+v", in)
		}
		k, _, _ := strings.Cut(strings.TrimPrefix(in.Body, "Signal="), "\r\n")
		keys += k
	}
	if keys != "12#" || events.Load() != 0 {
		t.Errorf("INFO keys %q, %d RTP packets that were not PCMU", keys, events.Load())
	}
	if _, err := r.calls.Hangup(info.ID); err != nil {
		t.Fatal(err)
	}
	r.waitState(t, info.ID, dialout.StateEnded)
	r.f.waitIdle()
}
