package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/internal/promtest"
	"github.com/roombridge/roombridge/gateway/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "0123456789abcdef-secret"

// receiver is an HTTP endpoint that verifies each request as a meeting
// app would and records the events. fail, when set, picks a status to
// answer an attempt with (0 = 204).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []webhook.Event
	bad    int // requests whose signature did not verify
	tries  map[string]int
	fail   func(id string, attempt int) int
}

func newReceiver(t *testing.T, fail func(id string, attempt int) int) *receiver {
	r := &receiver{tries: map[string]int{}, fail: fail}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		err := webhook.Verify([]byte(secret), req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var e webhook.Event
		if err := json.Unmarshal(body, &e); err != nil || e.ID != req.Header.Get(webhook.HeaderDelivery) || e.Event != req.Header.Get(webhook.HeaderEvent) {
			r.bad++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		attempt, _ := strconv.Atoi(req.Header.Get(webhook.HeaderAttempt))
		r.tries[e.ID]++
		if r.fail != nil {
			if code := r.fail(e.ID, attempt); code != 0 {
				w.WriteHeader(code)
				return
			}
		}
		r.events = append(r.events, e)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []webhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhook.Event(nil), r.events...)
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newDispatcher(t *testing.T, cfg webhook.Config) *webhook.Dispatcher {
	t.Helper()
	d, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func TestDeliverSignedInOrder(t *testing.T) {
	r := newReceiver(t, nil)
	other := newReceiver(t, nil)
	d := newDispatcher(t, webhook.Config{Endpoints: []webhook.Endpoint{
		{URL: r.URL, Secret: secret},
		{URL: other.URL, Secret: secret, Events: []string{webhook.CallEnded}},
	}})
	types := []string{webhook.CallStarted, webhook.ParticipantJoined, webhook.ParticipantLeft, webhook.CallEnded}
	for _, typ := range types {
		d.Emit(webhook.Event{Event: typ, Room: "demo", Call: &webhook.Call{ID: "c1", Direction: "inbound"}})
	}
	waitFor(t, "four events", 5*time.Second, func() bool { return len(r.got()) == 4 })
	for i, e := range r.got() {
		if e.Event != types[i] || e.Room != "demo" || e.ID == "" || e.Time.IsZero() || e.Call.ID != "c1" {
			t.Errorf("event %d: %+v", i, e)
		}
	}
	waitFor(t, "the filtered endpoint's event", 5*time.Second, func() bool { return len(other.got()) == 1 })
	if e := other.got()[0]; e.Event != webhook.CallEnded {
		t.Errorf("filtered endpoint got %s", e.Event)
	}
	if r.bad != 0 || other.bad != 0 {
		t.Errorf("%d + %d requests failed verification", r.bad, other.bad)
	}
}

func TestRetryWithBackoff(t *testing.T) {
	// The first two attempts fail (503, then a 500), the third lands.
	r := newReceiver(t, func(_ string, attempt int) int {
		if attempt < 3 {
			return 500 + 3*(2-attempt)
		}
		return 0
	})
	reg := prometheus.NewRegistry()
	d := newDispatcher(t, webhook.Config{
		Endpoints:  []webhook.Endpoint{{URL: r.URL, Secret: secret}},
		BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		Registerer: reg,
	})
	d.Emit(webhook.Event{Event: webhook.RoomCreated, Room: "a"})
	waitFor(t, "the third attempt", 5*time.Second, func() bool { return len(r.got()) == 1 })
	r.mu.Lock()
	tries := r.tries[r.events[0].ID]
	r.mu.Unlock()
	if tries != 3 {
		t.Errorf("%d tries", tries)
	}
	if n := promtest.Value(t, reg, "roombridge_webhook_deliveries_total", "result", "retried"); n != 2 {
		t.Errorf("retried %v", n)
	}
}

func TestNoRetryOnClientError(t *testing.T) {
	r := newReceiver(t, func(string, int) int { return http.StatusGone })
	reg := prometheus.NewRegistry()
	d := newDispatcher(t, webhook.Config{
		Endpoints:  []webhook.Endpoint{{URL: r.URL, Secret: secret}},
		BackoffMin: time.Millisecond, Registerer: reg,
	})
	d.Emit(webhook.Event{Event: webhook.RoomDeleted, Room: "a"})
	waitFor(t, "a failed delivery", 5*time.Second, func() bool {
		return promtest.Value(t, reg, "roombridge_webhook_deliveries_total", "result", "failed") == 1
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.tries {
		if n != 1 {
			t.Errorf("%d tries of a 410", n)
		}
	}
}

// A receiver that never answers holds up neither Emit nor other endpoints,
// and its queue keeps the newest events.
func TestBlockedReceiverNeverBlocksEmit(t *testing.T) {
	release := make(chan struct{})
	var entered atomic.Int32
	blocked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		entered.Add(1)
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer blocked.Close()
	defer close(release)
	fast := newReceiver(t, nil)
	reg := prometheus.NewRegistry()
	d := newDispatcher(t, webhook.Config{
		Endpoints: []webhook.Endpoint{{URL: blocked.URL, Secret: secret}, {URL: fast.URL, Secret: secret}},
		QueueSize: 10, Timeout: time.Minute, Registerer: reg,
	})
	start := time.Now()
	for i := range 1000 {
		d.Emit(webhook.Event{Event: webhook.DialProgress, Call: &webhook.Call{ID: strconv.Itoa(i)}})
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("1000 Emits took %v", el)
	}
	waitFor(t, "the other endpoint's deliveries", 10*time.Second, func() bool {
		got := fast.got()
		return len(got) > 0 && got[len(got)-1].Call.ID == "999"
	})
	if n := promtest.Value(t, reg, "roombridge_webhook_dropped_total"); n < 900 {
		t.Errorf("dropped %v, want most of 1000 with queues of 10", n)
	}
	if entered.Load() != 1 {
		t.Errorf("blocked receiver entered %d times", entered.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryQueueDropsOldest(t *testing.T) {
	q := webhook.NewMemoryQueue(3)
	dropped := 0
	for i := range 5 {
		dropped += q.Push(webhook.Delivery{EventID: strconv.Itoa(i)})
	}
	if dropped != 2 || q.Len() != 3 {
		t.Fatalf("dropped %d, len %d", dropped, q.Len())
	}
	for _, want := range []string{"2", "3", "4"} {
		d, err := q.Pop(context.Background())
		if err != nil || d.EventID != want {
			t.Fatalf("pop %q %v, want %s", d.EventID, err, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := q.Pop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pop on empty: %v", err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event":"room_created"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := webhook.Sign([]byte(secret), now.Unix(), body)
	if err := webhook.Verify([]byte(secret), ts, sig, body, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		secret, ts, sig string
		body            []byte
		now             time.Time
		want            error
	}{
		"wrong secret":  {"another-secret-0123", ts, sig, body, now, webhook.ErrBadSignature},
		"changed body":  {secret, ts, sig, []byte(`{"event":"room_deleted"}`), now, webhook.ErrBadSignature},
		"new timestamp": {secret, strconv.FormatInt(now.Unix()+10, 10), sig, body, now, webhook.ErrBadSignature},
		"replayed late": {secret, ts, sig, body, now.Add(10 * time.Minute), webhook.ErrStale},
		"garbage":       {secret, "x", "sha256=00", body, now, webhook.ErrBadSignature},
	} {
		if err := webhook.Verify([]byte(tc.secret), tc.ts, tc.sig, tc.body, tc.now, time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	for field, e := range map[string]webhook.Endpoint{
		"url":       {URL: "ftp://x", Secret: secret},
		"secret":    {URL: "http://x", Secret: "short"},
		"events[1]": {URL: "http://x", Secret: secret, Events: []string{webhook.CallEnded, "call_exploded"}},
	} {
		if err := webhook.CheckEndpoint(e); !errors.Is(err, webhook.ErrInvalidConfig) || !strings.Contains(err.Error(), field+":") {
			t.Errorf("%s: %v", field, err)
		}
	}
}

// A receiver that answers 429 with Retry-After is not tried again before
// it asked, even with a much shorter backoff configured.
func TestRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		n := len(times)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	d := newDispatcher(t, webhook.Config{
		Endpoints:  []webhook.Endpoint{{URL: srv.URL, Secret: secret}},
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Second,
	})
	d.Emit(webhook.Event{Event: webhook.RoomCreated})
	waitFor(t, "the second attempt", 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(times) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if gap := times[1].Sub(times[0]); gap < 900*time.Millisecond {
		t.Errorf("retried after %v despite Retry-After: 1", gap)
	}
}

// FuzzVerify: whatever a request carries, Verify answers without
// panicking, and only the body we signed verifies.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"event":"call_ended"}`)
	f.Add("1800000000", webhook.Sign([]byte(secret), 1800000000, body), body)
	f.Add("", "", []byte{})
	f.Add("-1", "sha256=zz", []byte("x"))
	f.Add("99999999999999999999", "sha256=", body)
	f.Fuzz(func(t *testing.T, ts, sig string, b []byte) {
		err := webhook.Verify([]byte(secret), ts, sig, b, time.Unix(1800000000, 0), time.Hour)
		if err == nil && webhook.Sign([]byte(secret), mustInt(ts), b) != strings.TrimSpace(sig) {
			t.Fatalf("verified a wrong signature: %q %q", ts, sig)
		}
	})
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}
