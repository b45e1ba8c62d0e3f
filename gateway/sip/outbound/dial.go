package outbound

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// DialRequest is one outbound call.
type DialRequest struct {
	// To is a number ("+15551234567", digits, * and #) dialled through
	// the outbound trunks, or a SIP URI ("sip:room@host.example") called
	// directly, or through Trunk as an outbound proxy when Trunk is set.
	To string
	// Trunk, when set, is the only trunk tried.
	Trunk string
	// From is the caller id number (From user); the trunk's FromNumber
	// when empty. FromName is the display name.
	From, FromName string
	// Headers are added to the INVITE (uac.CheckHeader says which may).
	Headers []uac.Header
	// Offer is our SDP offer (required).
	Offer []byte
	// OfferFor, when set, makes the offer of each attempt instead, once
	// its trunk and server (transport) are known; an error ends the dial.
	OfferFor func(Attempt) ([]byte, error)
	// OnProgress sees each provisional response: 100, 180, 183 with its
	// early-media SDP. It runs on the SIP stack's goroutine: do not block.
	OnProgress func(Progress)
	// OnAttempt is told before each INVITE where it goes.
	OnAttempt func(Attempt)
	// OnReOffer answers the callee's re-INVITE offers; OnInfo sees its
	// INFO requests (DTMF relay, picture_fast_update). See uac.Config.
	OnReOffer func(offer []byte) ([]byte, error)
	OnInfo    func(contentType string, body []byte)
}

// Progress is a provisional response to an outbound INVITE.
type Progress struct {
	Trunk  string // empty for a direct SIP URI call
	Code   int
	Reason string
	// SDP is the early-media answer of a 183 (or 180), nil if none.
	SDP []byte
}

// Attempt is one INVITE of a dial: which trunk and server.
type Attempt struct {
	Trunk  string
	Target Target
}

// Call is an answered outbound call: the dialog of uac.Call and the trunk
// that carried it. Hangup must be called once it is over.
type Call struct {
	*uac.Call
	// Trunk is the trunk that answered, empty for a direct call.
	Trunk string
	// Target is the server that answered.
	Target Target

	t        *trunk
	m        *Manager
	hangOnce sync.Once
}

// Hangup ends the call (BYE unless the callee hung up) and frees it.
func (c *Call) Hangup(ctx context.Context) error {
	err := c.Call.Hangup(ctx)
	c.hangOnce.Do(func() {
		if c.t != nil {
			c.m.addCalls(c.t, -1)
		}
	})
	return err
}

// Dial places a call: through the trunks that may dial a number, in
// priority order, skipping those whose OPTIONS pings fail, failing over
// as [FailoverStatus] says; or straight to a SIP URI's servers. It
// returns once the call is answered, or with the last attempt's error:
// a *uac.StatusError (uac.StatusCode) for a final response, wrapped in
// ErrAllFailed when failover ran out of trunks. When ctx ends before the
// answer the INVITE is cancelled (RFC 3261 §9.1) and the error wraps
// uac.ErrCanceled.
func (m *Manager) Dial(ctx context.Context, req DialRequest) (*Call, error) {
	if m.isClosed() {
		return nil, ErrClosed
	}
	if req.Offer == nil {
		return nil, fmt.Errorf("%w: no SDP offer", ErrInvalidConfig)
	}
	for _, h := range req.Headers {
		if err := uac.CheckHeader(h); err != nil {
			return nil, err
		}
	}
	if req.From != "" && !numberRe.MatchString(req.From) {
		return nil, fmt.Errorf("%w: from %q is not a number", ErrInvalidDestination, req.From)
	}
	dest, err := ParseDestination(req.To)
	if err != nil {
		return nil, err
	}
	trunks, err := m.route(dest, req.Trunk)
	if err != nil {
		m.m.dialOutcomes.WithLabelValues("failed").Inc()
		return nil, err
	}
	var lastErr error
	for i, t := range trunks {
		c, err := m.dialVia(ctx, t, dest, req)
		if err == nil {
			m.m.dialOutcomes.WithLabelValues("answered").Inc()
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil || !FailoverStatus(err) {
			break
		}
		if t != nil && i < len(trunks)-1 {
			m.m.failovers.WithLabelValues(t.Name).Inc()
			m.log.Info("outbound: failing over", "trunk", t.Name, "next", trunks[i+1].Name, "err", err)
		}
	}
	switch {
	case errors.Is(lastErr, uac.ErrCanceled):
		m.m.dialOutcomes.WithLabelValues("cancelled").Inc()
	case uac.StatusCode(lastErr) != 0 && !FailoverStatus(lastErr):
		m.m.dialOutcomes.WithLabelValues("rejected").Inc()
	default:
		m.m.dialOutcomes.WithLabelValues("failed").Inc()
	}
	if len(trunks) > 1 && FailoverStatus(lastErr) && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: %w", ErrAllFailed, lastErr)
	}
	return nil, lastErr
}

// Destination is a parsed DialRequest.To.
type Destination struct {
	// Number is set for a number; URI for a SIP URI.
	Number string
	URI    *sip.Uri
}

// ParseDestination reads a number ("+15551234567") or a SIP URI
// ("sip:room@host", "sips:..."); errors wrap ErrInvalidDestination.
func ParseDestination(to string) (Destination, error) {
	to = strings.TrimSpace(to)
	lower := strings.ToLower(to)
	if strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:") {
		var u sip.Uri
		if err := sip.ParseUri(to, &u); err != nil || u.Host == "" {
			return Destination{}, fmt.Errorf("%w: %q is not a SIP URI", ErrInvalidDestination, to)
		}
		if u.Headers.Length() > 0 {
			return Destination{}, fmt.Errorf("%w: %q: URI headers are not allowed", ErrInvalidDestination, to)
		}
		return Destination{URI: &u}, nil
	}
	n := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", ".", "").Replace(to)
	if !numberRe.MatchString(n) {
		return Destination{}, fmt.Errorf("%w: %q is neither a number nor a SIP URI", ErrInvalidDestination, to)
	}
	return Destination{Number: n}, nil
}

// route lists the trunks to try, in order: nil stands for a direct call
// to a SIP URI's own servers.
func (m *Manager) route(dest Destination, name string) ([]*trunk, error) {
	if name != "" {
		t := m.byName[name]
		if t == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownTrunk, name)
		}
		if dest.Number != "" && !t.dials(dest.Number) {
			return nil, fmt.Errorf("%w: trunk %s may not dial %s", ErrNoRoute, name, dest.Number)
		}
		if !t.up() {
			return nil, fmt.Errorf("%w: trunk %s", ErrNoTrunkAvailable, name)
		}
		return []*trunk{t}, nil
	}
	if dest.URI != nil {
		return []*trunk{nil}, nil
	}
	var may, up []*trunk
	for _, t := range m.trunks {
		if t.dials(dest.Number) {
			may = append(may, t)
			if t.up() {
				up = append(up, t)
			}
		}
	}
	switch {
	case len(may) == 0:
		return nil, fmt.Errorf("%w: %s", ErrNoRoute, dest.Number)
	case len(up) == 0:
		return nil, fmt.Errorf("%w: %s", ErrNoTrunkAvailable, dest.Number)
	}
	return up, nil
}

// dialVia tries the servers of t (or of the URI, t nil) in turn.
func (m *Manager) dialVia(ctx context.Context, t *trunk, dest Destination, req DialRequest) (*Call, error) {
	var (
		ruri    sip.Uri
		targets []Target
		err     error
	)
	if dest.URI != nil {
		ruri = *dest.URI
	} else {
		ruri = sip.Uri{Scheme: t.uri.uri.Scheme, User: dest.Number, Host: t.uri.uri.Host, Port: t.uri.uri.Port}
		if tp, ok := t.uri.uri.UriParams.Get("transport"); ok {
			ruri.UriParams = sip.HeaderParams{{K: "transport", V: tp}}
		}
	}
	if t != nil {
		targets, err = m.resolve(ctx, t)
	} else {
		tu := trunkURI{uri: ruri}
		if tp, ok := ruri.UriParams.Get("transport"); ok {
			if tu.transport, err = uac.ParseTransport(tp); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalidDestination, err)
			}
		}
		host, port, tp, secure := uriParts(tu)
		targets, err = m.cfg.Resolver.Resolve(ctx, host, port, tp, secure)
	}
	if err != nil {
		return nil, err
	}
	name := ""
	if t != nil {
		name = t.Name
	}
	var lastErr error
	for _, tg := range targets {
		if req.OnAttempt != nil {
			req.OnAttempt(Attempt{Trunk: name, Target: tg})
		}
		cfg := m.callConfig(t, tg, ruri, req)
		if req.OfferFor != nil {
			if cfg.Offer, err = req.OfferFor(Attempt{Trunk: name, Target: tg}); err != nil {
				return nil, err
			}
		}
		call, err := uac.Dial(ctx, cfg)
		if err == nil {
			m.m.attempts.WithLabelValues(name, "answered").Inc()
			c := &Call{Call: call, Trunk: name, Target: tg, t: t, m: m}
			if t != nil {
				m.addCalls(t, 1)
			}
			return c, nil
		}
		lastErr = err
		switch {
		case errors.Is(err, uac.ErrCanceled):
			m.m.attempts.WithLabelValues(name, "cancelled").Inc()
		case FailoverStatus(err):
			m.m.attempts.WithLabelValues(name, "failover").Inc()
		default:
			m.m.attempts.WithLabelValues(name, "rejected").Inc()
		}
		if ctx.Err() != nil || !serverDown(err) {
			break
		}
	}
	return nil, lastErr
}

// callConfig is the uac configuration of one INVITE to tg.
func (m *Manager) callConfig(t *trunk, tg Target, ruri sip.Uri, req DialRequest) uac.Config {
	from := req.From
	cfg := uac.Config{
		Target:          ruri.String(),
		Transport:       tg.Transport,
		Destination:     tg.Addr.String(),
		ServerName:      ruri.Host,
		FromDisplay:     req.FromName,
		UserAgent:       m.cfg.UserAgent,
		LocalIP:         m.cfg.LocalIP,
		TLSConfig:       m.cfg.TLSConfig,
		Headers:         req.Headers,
		Offer:           req.Offer,
		OnReOffer:       req.OnReOffer,
		OnInfo:          req.OnInfo,
		SessionExpires:  m.cfg.SessionExpires,
		ResponseTimeout: DefaultInviteTimeout,
		Logger:          m.log,
	}
	if t != nil {
		if from == "" {
			from = t.FromNumber
		}
		cfg.FromHost = t.FromDomain
		cfg.Username, cfg.Password, cfg.Realm = t.Username, t.Password, t.Realm
		cfg.ResponseTimeout = t.InviteTimeout
		cfg.ServerName = t.uri.uri.Host
		cfg.Logger = m.log.With("trunk", t.Name)
	}
	cfg.FromUser = from
	if req.OnProgress != nil {
		name := ""
		if t != nil {
			name = t.Name
		}
		cfg.OnProgress = func(code int, reason string, sdp []byte) {
			req.OnProgress(Progress{Trunk: name, Code: code, Reason: reason, SDP: sdp})
		}
	}
	return cfg
}

// addCalls changes t's count of answered calls.
func (m *Manager) addCalls(t *trunk, n int) {
	t.mu.Lock()
	t.calls += n
	c := t.calls
	t.mu.Unlock()
	m.m.activeCalls.WithLabelValues(t.Name).Set(float64(c))
}
