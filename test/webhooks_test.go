package test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/webhook"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

const hookSecret = "webhook-secret-0123456789"

// hookReceiver is a meeting app's webhook endpoint: it checks each
// request's signature and timestamp as the README tells apps to, and keeps
// the events that pass.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	events   []webhook.Event
	rejected int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		err := webhook.Verify([]byte(hookSecret), req.Header.Get("X-Roombridge-Timestamp"),
			req.Header.Get("X-Roombridge-Signature"), body, time.Now(), 5*time.Minute)
		var e webhook.Event
		if err == nil {
			err = json.Unmarshal(body, &e)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.rejected++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.events = append(r.events, e)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

// callEvents are the types of the events about call id, in order.
func (r *hookReceiver) callEvents(id string) []webhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []webhook.Event
	for _, e := range r.events {
		if e.Call != nil && e.Call.ID == id {
			out = append(out, e)
		}
	}
	return out
}

func (r *hookReceiver) ofType(typ string) []webhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []webhook.Event
	for _, e := range r.events {
		if e.Event == typ {
			out = append(out, e)
		}
	}
	return out
}

func startWebhookGateway(t *testing.T, url string, extra ...string) *harness.Server {
	t.Helper()
	cfg := `
webhooks:
  - url: ` + url + `
    secret: ` + hookSecret + `
trunks:
  - name: local
    allow: [127.0.0.0/8]
    trusted: true
    headers_to_attributes: {"X-Customer-Id": customer_id}
`
	return startSIPGateway(t, append([]string{cfg}, extra...)...)
}

// TestWebhooksForACall: a phone (sipp) calls room demo and hangs up; the
// app's endpoint gets call_started, call_answered, participant_joined,
// participant_left and call_ended for it, in that order, every one with a
// valid signature; and room_created / room_deleted for a room made and
// removed through the API.
func TestWebhooksForACall(t *testing.T) {
	harness.RequireTool(t, "sipp")
	recv := newHookReceiver(t)
	srv := startWebhookGateway(t, recv.URL)
	sippRun(t, srv, "call_speech.xml", 1500*time.Millisecond)

	var id string
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ended := recv.ofType(webhook.CallEnded); len(ended) == 1 {
			id = ended[0].Call.ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call_ended; got %d events", len(recv.events))
		}
		time.Sleep(50 * time.Millisecond)
	}
	evs := recv.callEvents(id)
	var types []string
	for _, e := range evs {
		types = append(types, e.Event)
	}
	if got := strings.Join(types, ","); got != "call_started,call_answered,participant_joined,participant_left,call_ended" {
		t.Fatalf("events for %s: %s", id, got)
	}
	joined, ended := evs[2], evs[4]
	if joined.Room != "demo" || joined.Participant == nil || joined.Participant.Kind != "sip" || joined.Participant.ID != id ||
		joined.Participant.Attributes["sip.trunk"] != "local" {
		t.Errorf("participant_joined %+v %+v", joined, joined.Participant)
	}
	c := ended.Call
	if c.Direction != "inbound" || c.Result != "answered" || c.AnsweredAt == nil || c.EndedAt == nil ||
		c.DurationSeconds < 1 || c.Quality == nil || c.Quality.PacketsReceived == 0 || c.SIPCallID == "" {
		t.Errorf("call_ended %+v %+v", c, c.Quality)
	}

	status, _, err := srv.API(t.Context(), http.MethodPost, "/v1/rooms", map[string]any{"name": "standup"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create room: %d %v", status, err)
	}
	status, _, err = srv.API(t.Context(), http.MethodDelete, "/v1/rooms/standup", nil)
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("delete room: %d %v", status, err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(recv.ofType(webhook.RoomDeleted)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no room_deleted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := recv.ofType(webhook.RoomCreated); len(c) != 1 || c[0].Room != "standup" {
		t.Errorf("room_created %+v", c)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.rejected != 0 {
		t.Errorf("%d requests failed signature checks", recv.rejected)
	}
}

// TestBlockedWebhookNeverDelaysCalls: with an endpoint that accepts the
// connection and never answers, calls are still answered and hung up as
// scripted (sipp exits 0), and the endpoint saw only its first request:
// the rest wait in the queue, not in the call's path.
func TestBlockedWebhookNeverDelaysCalls(t *testing.T) {
	harness.RequireTool(t, "sipp")
	var mu sync.Mutex
	requests := 0
	release := make(chan struct{})
	blocked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer blocked.Close()
	defer close(release)
	srv := startWebhookGateway(t, blocked.URL)
	for range 2 {
		code := sippeer.Run(t, sippeer.Options{
			Scenario: "call_speech.xml", Remote: srv.SIPAddr, Service: "demo", Domain: sipDomain,
			Pause: 500 * time.Millisecond, Timeout: 30 * time.Second,
		})
		if code != sippeer.ExitOK {
			t.Fatalf("sipp: exit %d (%s)", code, sippeer.ExitReason(code))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 1 {
		t.Errorf("blocked endpoint got %d requests, want 1 (in order, one at a time)", requests)
	}
}
