package livekit

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is the LiveKit backend's configuration. New copies it; it is frozen
// from then on.
type Config struct {
	// URL of the LiveKit server: ws(s):// or http(s)://, e.g.
	// "ws://127.0.0.1:7880".
	URL string
	// APIKey and APISecret sign the access tokens of the gateway's
	// participants and its RoomService calls.
	APIKey, APISecret string
	// Logger receives the backend's logs and, one level quieter, the SDK's;
	// nil discards them.
	Logger *slog.Logger
	// IdentityPrefix starts the identities the backend makes up for
	// participants that come without one; "sip_" when empty.
	IdentityPrefix string
	// ConnectTimeout bounds each Join (signalling, ICE, DTLS) and each
	// health check; 3 s when zero.
	ConnectTimeout time.Duration
	// HealthInterval is how often the server's reachability is checked;
	// 2 s when zero.
	HealthInterval time.Duration
	// ReconnectGrace is how long a participant whose connection dropped may
	// try to resume before it is given up with EventRemoved (the SDK alone
	// would keep trying for over a minute, with the caller listening to
	// silence); 5 s when zero.
	ReconnectGrace time.Duration
	// Registerer receives the backend's Prometheus metrics; nil registers
	// none.
	Registerer prometheus.Registerer
	// OnReachable, if set, runs on the health loop when LiveKit answers
	// again after being unreachable (a restarted server has forgotten its
	// rooms: the gateway creates them again). Its context ends after
	// ConnectTimeout×4 or when the backend closes.
	OnReachable func(ctx context.Context)
}

func (c *Config) setDefaults() {
	if c.IdentityPrefix == "" {
		c.IdentityPrefix = "sip_"
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 3 * time.Second
	}
	if c.HealthInterval <= 0 {
		c.HealthInterval = 2 * time.Second
	}
	if c.ReconnectGrace <= 0 {
		c.ReconnectGrace = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *Config) validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: URL %q is not a URL", ErrConfig, c.URL)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return fmt.Errorf("%w: URL %q: scheme must be ws, wss, http or https", ErrConfig, c.URL)
	}
	if c.APIKey == "" || c.APISecret == "" {
		return fmt.Errorf("%w: APIKey and APISecret are required", ErrConfig)
	}
	return nil
}
