package dialout_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sip/outbound"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

func TestMain(m *testing.M) { uastest.Main(m) }

var loopback = netip.MustParseAddr("127.0.0.1")

// events records a registry's events.
type events struct {
	mu  sync.Mutex
	all []dialout.Event
}

func (e *events) add(ev dialout.Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) states() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var s []string
	for _, ev := range e.all {
		if ev.Type == "dial_progress" {
			s = append(s, string(ev.Info.State))
		} else {
			s = append(s, ev.Type)
		}
	}
	return strings.Join(s, ",")
}

func setup(t *testing.T, uas uastest.Config) (*dialout.Registry, *uastest.Server, *events) {
	t.Helper()
	srv := uastest.Start(t, uas)
	m, err := outbound.New(outbound.Config{
		Trunks:  []outbound.Trunk{{Name: "carrier", URI: "sip:" + strings.TrimPrefix(srv.URI("", "udp"), "sip:@"), FromNumber: "+15550100"}},
		LocalIP: loopback,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	pool, err := rtp.NewPortPool(loopback, 44000, 44099)
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	r, err := dialout.New(dialout.Config{Dialer: m, Media: dialout.SignallingOnly(pool, netip.Addr{}), OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if n := pool.InUse(); n != 0 {
			t.Errorf("%d RTP port pairs still held", n)
		}
	})
	return r, srv, ev
}

func waitState(t *testing.T, r *dialout.Registry, id string, want dialout.State) dialout.Info {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, ok := r.Get(id)
		if ok && info.State == want {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s: state %q, want %q", id, info.State, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDialAnswerHangup(t *testing.T) {
	r, srv, ev := setup(t, uastest.Config{RingFor: 200 * time.Millisecond})
	info, err := r.Dial(dialout.Request{
		Room: "demo", To: "+15551234567", Name: "Support", DTMF: "12#",
		Headers: map[string]string{"X-Customer-Id": "42"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.State != dialout.StateDialing || info.ID == "" {
		t.Fatalf("first snapshot %+v", info)
	}
	got := waitState(t, r, info.ID, dialout.StateAnswered)
	if got.Trunk != "carrier" || got.Status != 200 || got.RingingAt.IsZero() || got.AnsweredAt.IsZero() || got.SIPCallID == "" {
		t.Errorf("answered %+v", got)
	}
	if l := r.List(); len(l) != 1 || l[0].ID != info.ID {
		t.Errorf("list %+v", l)
	}
	// The digits arrive as INFO after the answer.
	deadline := time.Now().Add(3 * time.Second)
	for len(srv.Infos()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var digits []string
	for _, in := range srv.Infos() {
		digits = append(digits, strings.TrimPrefix(strings.SplitN(in.Body, "\r\n", 2)[0], "Signal="))
	}
	if strings.Join(digits, "") != "12#" {
		t.Errorf("digits %v", digits)
	}
	if _, err := r.Hangup(info.ID); err != nil {
		t.Fatal(err)
	}
	end := waitState(t, r, info.ID, dialout.StateEnded)
	if end.Cause != dialout.CauseHangup || end.EndedAt.IsZero() {
		t.Errorf("ended %+v", end)
	}
	if _, _, _, byes := srv.Counts(); byes != 1 {
		t.Errorf("%d BYEs", byes)
	}
	if s := ev.states(); s != "dialing,ringing,answered,call_answered,ended,call_ended" {
		t.Errorf("events %s", s)
	}
	if len(r.List()) != 0 {
		t.Error("an ended call is still listed")
	}
}

func TestDialBusy(t *testing.T) {
	r, _, _ := setup(t, uastest.Config{Reject: 486})
	info, err := r.Dial(dialout.Request{Room: "demo", To: "+15551234567"})
	if err != nil {
		t.Fatal(err)
	}
	end := waitState(t, r, info.ID, dialout.StateEnded)
	if end.Cause != dialout.CauseBusy || end.Status != 486 {
		t.Errorf("ended %+v", end)
	}
}

func TestDialCancelAndNoAnswer(t *testing.T) {
	r, srv, _ := setup(t, uastest.Config{RingFor: 10 * time.Second})
	a, err := r.Dial(dialout.Request{Room: "demo", To: "+15551234567"})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, r, a.ID, dialout.StateRinging)
	if _, err := r.Hangup(a.ID); err != nil {
		t.Fatal(err)
	}
	if end := waitState(t, r, a.ID, dialout.StateEnded); end.Cause != dialout.CauseCancelled {
		t.Errorf("cancelled: %+v", end)
	}
	b, err := r.Dial(dialout.Request{Room: "demo", To: "+15551234567", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if end := waitState(t, r, b.ID, dialout.StateEnded); end.Cause != dialout.CauseNoAnswer {
		t.Errorf("timeout: %+v", end)
	}
	if answered, _, _, _ := srv.Counts(); answered != 0 {
		t.Errorf("%d answered", answered)
	}
}

func TestDialValidation(t *testing.T) {
	r, _, _ := setup(t, uastest.Config{})
	for field, req := range map[string]dialout.Request{
		"to":      {Room: "demo"},
		"to ":     {Room: "demo", To: "bob"},
		"from":    {Room: "demo", To: "+1555", From: "sip:x@y"},
		"dtmf":    {Room: "demo", To: "+1555", DTMF: "12x"},
		"timeout": {Room: "demo", To: "+1555", Timeout: time.Hour},
		"headers": {Room: "demo", To: "+1555", Headers: map[string]string{"Call-ID": "x"}},
		"name":    {Room: "demo", To: "+1555", Name: "a\"b"},
	} {
		_, err := r.Dial(req)
		var fe *dialout.FieldError
		if !errors.As(err, &fe) || fe.Field != strings.TrimSpace(field) || !errors.Is(err, dialout.ErrInvalid) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := r.Hangup("dial_nope"); !errors.Is(err, dialout.ErrNotFound) {
		t.Errorf("hangup unknown: %v", err)
	}
}
