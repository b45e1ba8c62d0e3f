package gateway

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

// eventLog is a CallObserver that records what it is told.
type eventLog struct {
	mu     sync.Mutex
	events []CallEvent
}

func (l *eventLog) ObserveCall(e CallEvent) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) get() []CallEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]CallEvent(nil), l.events...)
}

// A direct call is reported started, answered, joined, left and ended, in
// that order (it is answered before its join ends), and carries the header its trunk maps to an attribute, both
// in the room's participant listing and in the events.
func TestObserverAndHeaderAttributes(t *testing.T) {
	log := &eventLog{}
	f := newFixture(t, func(c *Config) {
		c.Observer = log
		c.HeaderAttributes = map[string]map[string]string{"local": {"X-Customer-Id": "customer_id", "User-to-User": "uui"}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call, err := uac.Dial(ctx, uac.Config{
		Target: f.uri("demo"), FromUser: "+15551230100", Offer: uastest.Offer(t),
		Headers: []uac.Header{{Name: "X-Customer-Id", Value: "cust-42"}, {Name: "X-Other", Value: "not mapped"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the caller in the room", func() bool { return len(f.sipParticipants("demo")) == 1 })
	attrs := f.sipParticipants("demo")[0].Attributes
	if attrs["customer_id"] != "cust-42" || attrs["sip.trunk"] != "local" || attrs["uui"] != "" || len(attrs) != 3 {
		t.Errorf("attributes %v", attrs)
	}
	waitUntil(t, 5*time.Second, "participant_joined", func() bool {
		ev := log.get()
		return len(ev) > 0 && ev[len(ev)-1].Type == ParticipantJoined
	})
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "call_ended", func() bool {
		ev := log.get()
		return len(ev) > 0 && ev[len(ev)-1].Type == CallEnded
	})
	var types []string
	for _, e := range log.get() {
		types = append(types, e.Type.String())
		if e.ID == "" || e.SIPCallID != call.CallID() || e.Trunk != "local" || !strings.Contains(e.From, "+15551230100") {
			t.Errorf("%s: %+v", e.Type, e)
		}
	}
	if got := strings.Join(types, ","); got != "call_started,call_answered,participant_joined,participant_left,call_ended" {
		t.Fatalf("events %s", got)
	}
	ev := log.get()
	if j := ev[2]; j.Room != "demo" || j.Participant.Attributes["customer_id"] != "cust-42" || j.Participant.Name != "+1555***0100" {
		t.Errorf("joined %+v", j)
	}
	if end := ev[4]; end.Result != resultAnswered || end.AnsweredAt.IsZero() || end.Quality == nil {
		t.Errorf("ended %+v", end)
	}
	f.waitIdle()
}

// A refused call is reported started, then ended with its SIP status.
func TestObserverRefusedCall(t *testing.T) {
	log := &eventLog{}
	f := newFixture(t, func(c *Config) { c.Observer = log })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := uac.Dial(ctx, uac.Config{Target: f.uri("nosuchroom"), Offer: uastest.Offer(t)})
	if uac.StatusCode(err) != 404 {
		t.Fatalf("err %v", err)
	}
	waitUntil(t, 5*time.Second, "call_ended", func() bool { return len(log.get()) == 2 })
	ev := log.get()
	if ev[0].Type != CallStarted || ev[1].Type != CallEnded || ev[1].Status != 404 || ev[1].Result != resultNotFound {
		t.Errorf("events %+v", ev)
	}
}
