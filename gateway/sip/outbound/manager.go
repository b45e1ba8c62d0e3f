package outbound

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// Config configures a Manager; New copies it.
type Config struct {
	// Trunks are the outbound trunks.
	Trunks []Trunk
	// Contacts are the gateway's SIP listeners as "udp://host:port"
	// (sip.BoundAddr strings): a registration binds the one of the
	// trunk's transport (else the first), so that the carrier's calls
	// reach the gateway's SIP server.
	Contacts []string
	// ContactHost, when set, replaces the listeners' host in the Contact
	// of registrations (the public address behind 1:1 NAT).
	ContactHost string
	// LocalIP is the address calls and registrations are sent from; zero
	// picks the one the system routes to each server from.
	LocalIP netip.Addr
	// UserAgent is the User-Agent header.
	UserAgent string
	// TLSConfig verifies carriers' certificates (nil: system roots); its
	// ServerName is set per trunk to the URI's host.
	TLSConfig *tls.Config
	// Resolver finds trunks' servers; the zero value asks the system.
	Resolver Resolver
	// SessionExpires asks for an RFC 4028 session interval on calls.
	SessionExpires time.Duration
	// RetryMin and RetryMax bound the backoff between failed
	// registrations (defaults 2 s and 5 min).
	RetryMin, RetryMax time.Duration
	// Logger gets the manager's logs; nil discards them.
	Logger *slog.Logger
	// Registerer gets the metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Manager owns the outbound trunks: their registrations, OPTIONS pings
// and the calls placed through them. Start it, Close it.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	m      *metrics
	trunks []*trunk // by priority, then configuration order
	byName map[string]*trunk

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	started  bool
	closed   bool
	closeCtx context.Context
}

// trunk is one outbound trunk's configuration and live state.
type trunk struct {
	Trunk
	uri trunkURI

	mu    sync.Mutex
	reg   RegistrationState
	opt   OptionsState
	calls int
}

// New checks cfg and builds a manager; it sends nothing until Start.
func New(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "roombridge"
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 2 * time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(5*time.Minute, cfg.RetryMin)
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, byName: map[string]*trunk{}}
	for i := range cfg.Trunks {
		t := &trunk{Trunk: cfg.Trunks[i]}
		t.Numbers = slices.Clone(t.Numbers)
		u, err := t.Check()
		if err != nil {
			return nil, fmt.Errorf("trunks[%d]: %w", i, err)
		}
		if m.byName[t.Name] != nil {
			return nil, fmt.Errorf("trunks[%d]: %w: name: duplicate %q", i, ErrInvalidConfig, t.Name)
		}
		t.uri = u
		t.reg.State = RegDisabled
		if t.Register {
			t.reg.State = RegUnknown
		}
		t.opt.Interval = t.OptionsInterval
		m.trunks = append(m.trunks, t)
		m.byName[t.Name] = t
	}
	slices.SortStableFunc(m.trunks, func(a, b *trunk) int { return cmp.Compare(a.Priority, b.Priority) })
	var err error
	if m.m, err = newMetrics(cfg.Registerer); err != nil {
		return nil, fmt.Errorf("outbound: metrics: %w", err)
	}
	for _, t := range m.trunks {
		m.m.regState.WithLabelValues(t.Name).Set(0)
		m.m.trunkUp.WithLabelValues(t.Name).Set(1)
		m.m.activeCalls.WithLabelValues(t.Name).Set(0)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Start begins registering and pinging the trunks that ask for it.
func (m *Manager) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started || m.closed {
		return
	}
	m.started = true
	for _, t := range m.trunks {
		if t.Register {
			m.wg.Add(1)
			go m.registerLoop(t)
		}
		if t.OptionsInterval > 0 {
			m.wg.Add(1)
			go m.optionsLoop(t)
		}
	}
}

// Close stops pinging, removes the registrations (waiting up to ctx for
// the registrars' answers) and waits for the manager's goroutines. Calls
// in progress are the caller's to hang up. It is idempotent.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.closeCtx = ctx
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}

// shutdownContext bounds the unregistrations at Close.
func (m *Manager) shutdownContext() context.Context {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closeCtx == nil {
		return context.Background()
	}
	return m.closeCtx
}

// States returns a snapshot of every outbound trunk, in priority order.
func (m *Manager) States() []TrunkState {
	out := make([]TrunkState, 0, len(m.trunks))
	for _, t := range m.trunks {
		t.mu.Lock()
		out = append(out, TrunkState{
			Name: t.Name, URI: t.URI, Priority: t.Priority, Numbers: slices.Clone(t.Numbers),
			Registration: t.reg, Options: t.opt, ActiveCalls: t.calls,
		})
		t.mu.Unlock()
	}
	return out
}

// agentConfig is the uac configuration for signalling with t's servers.
func (m *Manager) agentConfig(t *trunk, target Target, user string) uac.Config {
	cfg := uac.Config{
		Target:      t.URI,
		Transport:   target.Transport,
		Destination: target.Addr.String(),
		ServerName:  t.uri.uri.Host,
		FromUser:    user,
		FromHost:    t.FromDomain,
		UserAgent:   m.cfg.UserAgent,
		LocalIP:     m.cfg.LocalIP,
		TLSConfig:   m.cfg.TLSConfig,
		Username:    t.Username,
		Password:    t.Password,
		Realm:       t.Realm,
		Logger:      m.log.With("trunk", t.Name),
	}
	return cfg
}

// resolve finds t's servers.
func (m *Manager) resolve(ctx context.Context, t *trunk) ([]Target, error) {
	host, port, tp, secure := uriParts(t.uri)
	return m.cfg.Resolver.Resolve(ctx, host, port, tp, secure)
}

// isClosed reports whether Close was called.
func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Routes reports whether some outbound trunk may dial number (a number,
// not a SIP URI), whether or not it is up: a click-to-call to a number
// no trunk serves is not a call out at all.
func (m *Manager) Routes(number string) bool {
	dest, err := ParseDestination(number)
	if err != nil || dest.Number == "" {
		return false
	}
	for _, t := range m.trunks {
		if t.dials(dest.Number) {
			return true
		}
	}
	return false
}
