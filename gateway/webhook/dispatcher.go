package webhook

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Endpoint is one receiver of webhooks.
type Endpoint struct {
	// URL receives the POSTs (http or https).
	URL string
	// Secret keys the signature; required.
	Secret string
	// Events are the event types sent there; empty means all.
	Events []string
}

// Config configures a Dispatcher; New copies it.
type Config struct {
	Endpoints []Endpoint
	// QueueSize bounds each endpoint's in-memory queue (default 1000).
	QueueSize int
	// NewQueue, when set, makes each endpoint's queue instead (e.g. one
	// in Redis); name is the endpoint's index, "0", "1", ...
	NewQueue func(name string) Queue
	// MaxAttempts is how often a delivery is tried (default 8: about two
	// minutes with the default backoff).
	MaxAttempts int
	// BackoffMin and BackoffMax bound the wait before a retry, which
	// doubles from BackoffMin with full jitter (defaults 1 s and 60 s).
	BackoffMin, BackoffMax time.Duration
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// Client sends the requests; a client with Timeout when nil.
	Client *http.Client
	// Logger gets delivery failures; nil discards.
	Logger *slog.Logger
	// Registerer gets the metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Dispatcher delivers events to the endpoints. Emit from anywhere; Close
// when done.
type Dispatcher struct {
	cfg       Config
	log       *slog.Logger
	client    *http.Client
	endpoints []*endpoint
	m         *metrics

	ctx    context.Context // cancelled by Close: stops the workers
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

type endpoint struct {
	Endpoint
	name   string
	events map[string]bool // nil: all
	queue  Queue
	// pending counts deliveries this dispatcher queued and has not yet
	// finished (sent, given up or dropped).
	pending atomic.Int64
}

// ErrInvalidConfig reports an endpoint that cannot work; the message names
// the field.
var ErrInvalidConfig = errors.New("webhook: invalid config")

// CheckEndpoint validates one endpoint; errors name the field.
func CheckEndpoint(e Endpoint) error {
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: url: must be an http(s) URL, not %q", ErrInvalidConfig, e.URL)
	}
	if len(e.Secret) < 16 {
		return fmt.Errorf("%w: secret: must be at least 16 characters", ErrInvalidConfig)
	}
	for i, ev := range e.Events {
		if !slices.Contains(EventTypes, ev) {
			return fmt.Errorf("%w: events[%d]: unknown event %q", ErrInvalidConfig, i, ev)
		}
	}
	return nil
}

// New checks cfg and starts one worker per endpoint.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = time.Second
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(60*time.Second, cfg.BackoffMin)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	d := &Dispatcher{cfg: cfg, log: cfg.Logger, client: cfg.Client}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.client == nil {
		d.client = &http.Client{Timeout: cfg.Timeout}
	}
	for i, e := range cfg.Endpoints {
		if err := CheckEndpoint(e); err != nil {
			return nil, fmt.Errorf("webhooks[%d]: %w", i, err)
		}
		ep := &endpoint{Endpoint: e, name: strconv.Itoa(i)}
		if len(e.Events) > 0 {
			ep.events = map[string]bool{}
			for _, ev := range e.Events {
				ep.events[ev] = true
			}
		}
		if cfg.NewQueue != nil {
			ep.queue = cfg.NewQueue(ep.name)
		} else {
			ep.queue = NewMemoryQueue(cfg.QueueSize)
		}
		d.endpoints = append(d.endpoints, ep)
	}
	m, err := newMetrics(cfg.Registerer, d)
	if err != nil {
		return nil, fmt.Errorf("webhook: metrics: %w", err)
	}
	d.m = m
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for _, ep := range d.endpoints {
		d.wg.Add(1)
		go d.work(ep)
	}
	return d, nil
}

// Wants reports whether any endpoint takes events of type typ, so that
// callers can skip building events nobody receives.
func (d *Dispatcher) Wants(typ string) bool {
	if d == nil {
		return false
	}
	for _, ep := range d.endpoints {
		if ep.events == nil || ep.events[typ] {
			return true
		}
	}
	return false
}

// Emit queues e for every endpoint subscribed to its type and returns at
// once; it fills in ID and Time when empty. It is safe to call on a nil
// Dispatcher (no webhooks configured) and after Close (the event is
// dropped).
func (d *Dispatcher) Emit(e Event) {
	if !d.Wants(e.Event) {
		return
	}
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return
	}
	if e.ID == "" {
		e.ID = "evt_" + crand.Text()[:20]
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	body, err := json.Marshal(e)
	if err != nil {
		d.log.Error("webhook: event not encodable", "event", e.Event, "err", err)
		return
	}
	d.m.events.WithLabelValues(e.Event).Inc()
	for _, ep := range d.endpoints {
		if ep.events != nil && !ep.events[e.Event] {
			continue
		}
		ep.pending.Add(1)
		if n := ep.queue.Push(Delivery{EventID: e.ID, EventType: e.Event, Body: body}); n > 0 {
			ep.pending.Add(-int64(n))
			d.m.dropped.Add(float64(n))
			d.log.Warn("webhook: queue full, oldest event dropped", "endpoint", ep.name, "dropped", n)
		}
	}
}

// Close stops taking events, lets the workers send what is queued until
// ctx ends, then stops them and waits. It is idempotent.
func (d *Dispatcher) Close(ctx context.Context) error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	for _, ep := range d.endpoints {
		d.drain(ctx, ep)
	}
	d.cancel()
	d.wg.Wait()
	return nil
}

// drain waits until ep has sent (or given up on) what was queued, or ctx
// ends.
func (d *Dispatcher) drain(ctx context.Context, ep *endpoint) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for ep.pending.Load() > 0 {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// work sends ep's deliveries in order until Close.
func (d *Dispatcher) work(ep *endpoint) {
	defer d.wg.Done()
	for {
		del, err := ep.queue.Pop(d.ctx)
		if err != nil {
			return
		}
		d.deliver(ep, del)
		ep.pending.Add(-1)
	}
}

// deliver tries one delivery until it succeeds, fails for good, runs out
// of attempts, or the dispatcher closes.
func (d *Dispatcher) deliver(ep *endpoint, del Delivery) {
	backoff := d.cfg.BackoffMin
	for attempt := 1; ; attempt++ {
		retry, wait, err := d.post(ep, del, attempt)
		if err == nil {
			d.m.deliveries.WithLabelValues("delivered").Inc()
			return
		}
		if !retry || attempt >= d.cfg.MaxAttempts || d.ctx.Err() != nil {
			d.m.deliveries.WithLabelValues("failed").Inc()
			d.log.Warn("webhook: delivery failed", "endpoint", ep.name, "event", del.EventType, "id", del.EventID, "attempts", attempt, "err", err)
			return
		}
		d.m.deliveries.WithLabelValues("retried").Inc()
		// Full jitter (0..backoff), unless the receiver said when.
		sleep := time.Duration(rand.Int64N(int64(backoff)) + 1) //nolint:gosec // timing jitter
		if wait > 0 {
			sleep = min(wait, d.cfg.BackoffMax)
		}
		backoff = min(2*backoff, d.cfg.BackoffMax)
		t := time.NewTimer(sleep)
		select {
		case <-d.ctx.Done():
			t.Stop()
			d.m.deliveries.WithLabelValues("failed").Inc()
			return
		case <-t.C:
		}
	}
}

// post sends one attempt. It reports whether a failure is worth a retry
// and how long the receiver asked us to wait (Retry-After), if it did.
func (d *Dispatcher) post(ep *endpoint, del Delivery, attempt int) (retry bool, wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(del.Body))
	if err != nil {
		return false, 0, err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "roombridge-webhook")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign([]byte(ep.Secret), ts, del.Body))
	req.Header.Set(HeaderEvent, del.EventType)
	req.Header.Set(HeaderDelivery, del.EventID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	res, err := d.client.Do(req)
	if err != nil {
		return true, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return false, 0, nil
	}
	err = fmt.Errorf("answered %s", res.Status)
	switch {
	case res.StatusCode == http.StatusRequestTimeout, res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		if s, perr := strconv.Atoi(res.Header.Get("Retry-After")); perr == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return true, wait, err
	}
	return false, 0, err
}
