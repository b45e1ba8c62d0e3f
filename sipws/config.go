package sipws

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	sipgo "github.com/emiago/sipgo/sip"
)

// Defaults of the zero Config fields.
const (
	DefaultMaxPerIP         = 32
	DefaultPingInterval     = 30 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
)

// Config configures a [Listener]. It is copied by [New] and frozen then.
type Config struct {
	// Logger receives refusals and socket errors at debug level; nil
	// discards them.
	Logger *slog.Logger
	// TLS, when set, makes this a wss:// listener: the handshake runs over
	// TLS 1.2+ with this configuration, and sipgo sees transport "WSS".
	TLS *tls.Config
	// CheckOrigin decides which browser pages may open a socket; see
	// [AllowOrigins] and [SameHostOrigin]. A handshake without an Origin
	// header (not a browser: nothing to protect against, since such a
	// client can send any Origin it likes) is always allowed. Nil allows
	// no browser page at all.
	CheckOrigin OriginCheck
	// MaxPerIP bounds the sockets one source address holds at once;
	// 0 means DefaultMaxPerIP, negative means no limit.
	MaxPerIP int
	// PingInterval is how often a WebSocket ping goes out; a socket silent
	// for 2.5 times as long is closed. 0 means DefaultPingInterval.
	PingInterval time.Duration
	// HandshakeTimeout bounds the opening handshake (TLS and HTTP). 0 means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds each write to a socket; a browser that stops
	// reading is closed then. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// MaxMessage bounds one SIP message. 0 means the largest message
	// sipgo's WebSocket transport reads in one piece
	// (sip.TransportBufferReadSize); a larger one closes the socket with
	// code 1009.
	MaxMessage int
	// OnClose, when set, is called with a socket's remote address
	// ("ip:port", as sipgo knows the socket) once it has closed, on the
	// socket's goroutine: a registrar drops the bindings that could only
	// be reached through it (RFC 7118 §5: a WebSocket client's Contact is
	// unroutable but over its own connection).
	OnClose func(remote string)
}

func (c Config) withDefaults() (Config, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxPerIP == 0 {
		c.MaxPerIP = DefaultMaxPerIP
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	limit := int(sipgo.TransportBufferReadSize)
	if c.MaxMessage == 0 {
		c.MaxMessage = limit
	}
	switch {
	case c.PingInterval < 0:
		return c, fmt.Errorf("%w: PingInterval %v is negative", ErrInvalidConfig, c.PingInterval)
	case c.HandshakeTimeout < 0 || c.WriteTimeout < 0:
		return c, fmt.Errorf("%w: negative timeout", ErrInvalidConfig)
	case c.MaxMessage < 0 || c.MaxMessage > limit:
		return c, fmt.Errorf("%w: MaxMessage %d is not 1..%d (sipgo's read buffer)", ErrInvalidConfig, c.MaxMessage, limit)
	}
	if c.TLS != nil {
		c.TLS = c.TLS.Clone()
		if c.TLS.MinVersion < tls.VersionTLS12 {
			c.TLS.MinVersion = tls.VersionTLS12
		}
		// WebSocket upgrades are HTTP/1.1 (RFC 6455); without this the
		// HTTP server would offer h2 and browsers would take it.
		c.TLS.NextProtos = []string{"http/1.1"}
	}
	return c, nil
}

// silenceTimeout is how long a socket may stay silent before it is closed:
// two pings unanswered and half an interval to spare.
func (c Config) silenceTimeout() time.Duration { return c.PingInterval * 5 / 2 }
