package dialout

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/sip/outbound"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// Dialer places calls; *outbound.Manager is one.
type Dialer interface {
	Dial(ctx context.Context, req outbound.DialRequest) (*outbound.Call, error)
}

// Event is a change of a call's state, for webhooks.
type Event struct {
	// Type is "dial_progress" for every state change; "call_answered"
	// and "call_ended" accompany the answer and the end.
	Type string
	Info Info
}

// Config configures a Registry; New copies it.
type Config struct {
	Dialer Dialer
	// Media makes each call's media; required (gateway.DialMedia in the
	// gateway, SignallingOnly in tests of the signalling).
	Media MediaFactory
	// OnEvent, when set, is told of every state change; it must not
	// block (webhook.Dispatcher.Emit does not).
	OnEvent func(Event)
	// DefaultTimeout is how long a call rings when the request gives no
	// timeout (default 30 s); MaxTimeout the most a request may ask for
	// (default 2 min).
	DefaultTimeout, MaxTimeout time.Duration
	// MaxCalls bounds the calls in progress (default 100).
	MaxCalls int
	// KeepEnded is how long an ended call stays readable with Get
	// (default 10 min).
	KeepEnded time.Duration
	Logger    *slog.Logger
}

// Request is one dial-out, as the API receives it.
type Request struct {
	Room    string
	To      string
	Trunk   string
	From    string
	Name    string
	DTMF    string
	Timeout time.Duration
	// Headers are added to the INVITE (X-Customer-Id, User-to-User...).
	Headers map[string]string
	// Origin says who placed the call, shown in Info: empty for the room
	// API, OriginClickToCall for a SIP caller's click-to-call.
	Origin string
	// Media, when set, makes this call's media instead of Config.Media
	// (a click-to-call bridges the caller, not a room).
	Media MediaFactory
}

// OriginClickToCall is the Origin of a call a SIP caller placed by
// dialling a number (click-to-call): its Room is empty.
const OriginClickToCall = "click-to-call"

// Registry is the table of dial-out calls.
type Registry struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	calls  map[string]*dial
	closed bool
}

// dial is one call: its snapshot under the registry's lock, and the
// function that ends it.
type dial struct {
	info   Info
	hangup context.CancelCauseFunc
	// quality reports the answered call's media quality; nil before.
	quality QualityReporter
}

var dtmfRe = regexp.MustCompile(`^[0-9*#A-Da-d,]{0,64}$`)

// New checks cfg and makes a registry.
func New(cfg Config) (*Registry, error) {
	if cfg.Dialer == nil || cfg.Media == nil {
		return nil, errors.New("dialout: Dialer and Media are required")
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 30 * time.Second
	}
	if cfg.MaxTimeout < cfg.DefaultTimeout {
		cfg.MaxTimeout = max(2*time.Minute, cfg.DefaultTimeout)
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = 100
	}
	if cfg.KeepEnded <= 0 {
		cfg.KeepEnded = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{cfg: cfg, log: cfg.Logger, calls: map[string]*dial{}}
	r.ctx, r.cancel = context.WithCancelCause(context.Background())
	return r, nil
}

// Validate checks a request without placing it; errors are *FieldError.
func (r *Registry) Validate(req Request) error {
	if strings.TrimSpace(req.To) == "" {
		return invalid("to", "required: a number (+15551234567) or a SIP URI (sip:room@host)")
	}
	if _, err := outbound.ParseDestination(req.To); err != nil {
		return invalid("to", "%q is neither a number nor a SIP URI", req.To)
	}
	if req.From != "" {
		if _, err := outbound.ParseDestination(req.From); err != nil || strings.Contains(req.From, ":") {
			return invalid("from", "must be a number, not %q", req.From)
		}
	}
	if len(req.Name) > 128 || strings.ContainsAny(req.Name, "\r\n\"") {
		return invalid("name", "at most 128 characters, no quotes or line breaks")
	}
	if !dtmfRe.MatchString(req.DTMF) {
		return invalid("dtmf", "only 0-9 * # A-D and , (a pause), at most 64")
	}
	if req.Timeout < 0 || (req.Timeout > 0 && req.Timeout < time.Second) || req.Timeout > r.cfg.MaxTimeout {
		return invalid("timeout", "must be between 1s and %v", r.cfg.MaxTimeout)
	}
	for _, h := range headerList(req.Headers) {
		if err := uac.CheckHeader(h); err != nil {
			return invalid("headers", "%s", strings.TrimPrefix(err.Error(), uac.ErrInvalidConfig.Error()+": "))
		}
	}
	return nil
}

// Dial validates req, starts the call and returns its first snapshot
// (state dialing). The call runs until it ends, Hangup, or Close.
func (r *Registry) Dial(req Request) (Info, error) {
	if err := r.Validate(req); err != nil {
		return Info{}, err
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = r.cfg.DefaultTimeout
	}
	id := "dial_" + strings.ToLower(rand.Text()[:16])
	now := time.Now().UTC()
	info := Info{
		ID: id, Room: req.Room, To: req.To, Trunk: req.Trunk, From: req.From, Name: req.Name,
		Participant: id, State: StateDialing, CreatedAt: now, Origin: req.Origin,
	}
	ctx, hangup := context.WithCancelCause(r.ctx)
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		hangup(nil)
		return Info{}, ErrClosed
	case r.live() >= r.cfg.MaxCalls:
		r.mu.Unlock()
		hangup(nil)
		return Info{}, ErrTooMany
	}
	r.calls[id] = &dial{info: info, hangup: hangup}
	r.wg.Add(1)
	r.mu.Unlock()
	r.emit("dial_progress", info)
	go r.run(ctx, hangup, req, info, timeout)
	return info, nil
}

// live counts calls not yet ended; r.mu is held.
func (r *Registry) live() int {
	n := 0
	for _, d := range r.calls {
		if d.info.State != StateEnded {
			n++
		}
	}
	return n
}

// Get returns a call's snapshot, live or ended within KeepEnded.
func (r *Registry) Get(id string) (Info, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.calls[id]
	if !ok {
		return Info{}, false
	}
	return d.snapshot(), true
}

// snapshot is the call's Info with its live quality; r.mu is held.
func (d *dial) snapshot() Info {
	i := clone(d.info)
	if d.quality != nil && i.State == StateAnswered {
		if q, ok := d.quality.Quality(); ok {
			i.Quality = q
		}
	}
	return i
}

// List returns the calls in progress, oldest first.
func (r *Registry) List() []Info {
	r.mu.Lock()
	out := make([]Info, 0, len(r.calls))
	for _, d := range r.calls {
		if d.info.State != StateEnded {
			out = append(out, d.snapshot())
		}
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// Hangup cancels a call that is not answered yet (CANCEL) or hangs up an
// answered one (BYE). Hanging up an ended call is not an error.
func (r *Registry) Hangup(id string) (Info, error) {
	r.mu.Lock()
	d, ok := r.calls[id]
	r.mu.Unlock()
	if !ok {
		return Info{}, ErrNotFound
	}
	d.hangup(ErrHangup)
	info, _ := r.Get(id)
	return info, nil
}

// Close hangs up every call and waits for them to end, or for ctx.
func (r *Registry) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel(errShutdown)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dialout: calls still ending: %w", context.Cause(ctx))
	}
}

var errShutdown = errors.New("dialout: shutting down")

// run is one call, from the INVITE to the end.
func (r *Registry) run(ctx context.Context, hangup context.CancelCauseFunc, req Request, info Info, timeout time.Duration) {
	defer r.wg.Done()
	defer hangup(nil)
	log := r.log.With("dial", info.ID, "room", info.Room)
	factory := r.cfg.Media
	if req.Media != nil {
		factory = req.Media
	}
	media, err := factory(ctx, info)
	if err != nil {
		log.Warn("dial-out: media", "err", err)
		r.end(info.ID, CauseMediaFailed, 0)
		return
	}
	defer func() {
		if err := media.Close(); err != nil {
			log.Debug("dial-out: media close", "err", err)
		}
	}()
	ringCtx, stopRing := context.WithTimeout(ctx, timeout)
	defer stopRing()
	dr := outbound.DialRequest{
		To: req.To, Trunk: req.Trunk, From: req.From, FromName: req.Name,
		Headers: headerList(req.Headers), Offer: media.Offer(),
		OnAttempt: func(a outbound.Attempt) {
			r.update(info.ID, func(i *Info) { i.Trunk = a.Trunk })
		},
		OnProgress: func(p outbound.Progress) {
			if pr, ok := media.(ProgressReceiver); ok {
				pr.Progress(p)
			}
			if p.SDP != nil {
				if err := media.EarlyMedia(p.SDP); err != nil {
					log.Info("dial-out: early media", "err", err)
				}
			}
			r.progress(info.ID, p)
		},
	}
	if ao, ok := media.(AttemptOfferer); ok {
		dr.OfferFor = ao.OfferFor
	}
	if ro, ok := media.(ReOfferer); ok {
		dr.OnReOffer = ro.ReOffer
	}
	if ir, ok := media.(InfoReceiver); ok {
		dr.OnInfo = ir.Info
	}
	call, err := r.cfg.Dialer.Dial(ringCtx, dr)
	if err != nil {
		cause := dialCause(err, ctx, ringCtx)
		log.Info("dial-out: not answered", "cause", cause, "status", uac.StatusCode(err), "err", err)
		r.end(info.ID, cause, uac.StatusCode(err))
		return
	}
	r.update(info.ID, func(i *Info) { i.Trunk, i.SIPCallID = call.Trunk, call.CallID() })
	cur, _ := r.Get(info.ID)
	if err := media.Answered(call, cur); err != nil {
		log.Warn("dial-out: answered, but the media failed", "err", err)
		_ = call.Hangup(context.Background())
		r.end(info.ID, CauseMediaFailed, 200)
		return
	}
	qr, _ := media.(QualityReporter)
	r.answered(info.ID, qr)
	log.Info("dial-out: answered", "trunk", call.Trunk, "setup", call.SetupTime())
	if req.DTMF != "" {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := sendDTMF(ctx, call, media, req.DTMF); err != nil && ctx.Err() == nil {
				log.Info("dial-out: DTMF", "err", err)
			}
		}()
	}
	var mediaDone <-chan struct{}
	ender, _ := media.(Ender)
	if ender != nil {
		mediaDone = ender.Done()
	}
	cause := CauseRemoteHangup
	select {
	case <-mediaDone:
		cause = ender.Cause()
	case <-call.Context().Done():
		if errors.Is(context.Cause(call.Context()), uac.ErrSessionExpired) {
			cause = CauseExpired
		}
	case <-ctx.Done():
		cause = CauseHangup
		if errors.Is(context.Cause(ctx), errShutdown) {
			cause = CauseShutdown
		}
	}
	hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = call.Hangup(hctx)
	cancel()
	r.end(info.ID, cause, 0)
}

// dialCause names why a dial ended without an answer.
func dialCause(err error, ctx, ringCtx context.Context) string {
	switch {
	case errors.Is(context.Cause(ctx), errShutdown):
		return CauseShutdown
	case errors.Is(context.Cause(ctx), ErrHangup):
		return CauseCancelled
	case errors.Is(err, uac.ErrCanceled) && ringCtx.Err() != nil:
		return CauseNoAnswer
	case errors.Is(err, outbound.ErrNoRoute), errors.Is(err, outbound.ErrUnknownTrunk), errors.Is(err, outbound.ErrInvalidDestination):
		return CauseNoRoute
	case errors.Is(err, outbound.ErrNoTrunkAvailable), errors.Is(err, outbound.ErrAllFailed):
		return CauseUnavailable
	}
	switch code := uac.StatusCode(err); {
	case code == 486 || code == 600:
		return CauseBusy
	case code == 603:
		return CauseDeclined
	case code == 480 || code == 408:
		return CauseNoAnswer
	case code == 404 || code == 484 || code == 604:
		return CauseNotFound
	case code >= 500:
		return CauseUnavailable
	case code >= 400:
		return CauseRejected
	}
	if outbound.FailoverStatus(err) {
		return CauseUnavailable
	}
	return CauseFailed
}

// sendDTMF sends digits after the answer: through the media when it can,
// else as SIP INFO (RFC 6086, application/dtmf-relay), a ',' pausing
// 500 ms.
func sendDTMF(ctx context.Context, call *outbound.Call, media Media, digits string) error {
	if s, ok := media.(DTMFSender); ok {
		if err := s.SendDTMF(ctx, digits); !errors.Is(err, ErrNoRFC4733) {
			return err
		}
	}
	for _, d := range strings.ToUpper(digits) {
		if d == ',' {
			select {
			case <-time.After(500 * time.Millisecond):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		body := fmt.Sprintf("Signal=%c\r\nDuration=160\r\n", d)
		if err := call.SendInfo(ctx, "application/dtmf-relay", []byte(body)); err != nil {
			return err
		}
	}
	return nil
}

// progress records a provisional response.
func (r *Registry) progress(id string, p outbound.Progress) {
	if p.Code == 100 {
		return
	}
	changed := false
	info := r.update(id, func(i *Info) {
		i.Status = p.Code
		if p.SDP != nil && !i.EarlyMedia {
			i.EarlyMedia, changed = true, true
		}
		if i.State == StateDialing {
			i.State, i.RingingAt, changed = StateRinging, time.Now().UTC(), true
		}
	})
	if changed {
		r.emit("dial_progress", info)
	}
}

// answered records the answer; q, when not nil, reports the call's
// quality from now on.
func (r *Registry) answered(id string, q QualityReporter) {
	r.mu.Lock()
	if d := r.calls[id]; d != nil {
		d.quality = q
	}
	r.mu.Unlock()
	info := r.update(id, func(i *Info) {
		i.State, i.Status, i.AnsweredAt = StateAnswered, 200, time.Now().UTC()
	})
	r.emit("dial_progress", info)
	r.emit("call_answered", info)
}

// end records the end, with the quality as it was last, and schedules
// the call's removal.
func (r *Registry) end(id, cause string, status int) {
	r.mu.Lock()
	if d := r.calls[id]; d != nil && d.quality != nil {
		if q, ok := d.quality.Quality(); ok {
			d.info.Quality = q
		}
		d.quality = nil
	}
	r.mu.Unlock()
	info := r.update(id, func(i *Info) {
		i.State, i.Cause, i.EndedAt = StateEnded, cause, time.Now().UTC()
		if status != 0 {
			i.Status = status
		}
	})
	r.emit("dial_progress", info)
	r.emit("call_ended", info)
	time.AfterFunc(r.cfg.KeepEnded, func() {
		r.mu.Lock()
		delete(r.calls, id)
		r.mu.Unlock()
	})
}

// update changes a call's snapshot and returns a copy.
func (r *Registry) update(id string, f func(*Info)) Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.calls[id]
	if d == nil {
		return Info{}
	}
	f(&d.info)
	return clone(d.info)
}

func (r *Registry) emit(typ string, info Info) {
	if r.cfg.OnEvent != nil {
		r.cfg.OnEvent(Event{Type: typ, Info: info})
	}
}

func clone(i Info) Info {
	i.Attributes = maps.Clone(i.Attributes)
	return i
}

// headerList orders a request's headers by name, so INVITEs are the same
// for the same request.
func headerList(h map[string]string) []uac.Header {
	names := slices.Sorted(maps.Keys(h))
	out := make([]uac.Header, 0, len(names))
	for _, n := range names {
		out = append(out, uac.Header{Name: n, Value: h[n]})
	}
	return out
}
