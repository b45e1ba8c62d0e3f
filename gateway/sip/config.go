package sip

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/lockout"
)

// Config configures a [Server]. It is read once by [NewServer]; later changes
// have no effect.
type Config struct {
	// Logger receives the server's logs (with a call_id attribute) and those
	// of sipgo's transport, transaction, server and client layers; nil
	// discards them. sipgo's package-level logger (sip.SetDefaultLogger) is
	// global and left to the program's main.
	Logger *slog.Logger
	// Listen lists the sockets [Server.Listen] binds: "udp://host:port",
	// "tcp://host:port" or "tls://host:port". Port 0 picks a free port; see
	// [Server.Addrs].
	Listen []string
	// TLSConfig is required for tls:// listeners. Its MinVersion is raised to
	// TLS 1.2 if lower.
	TLSConfig *tls.Config
	// Domain is our SIP domain; it is the default digest realm.
	Domain string
	// ContactHost is the host (name or IP) we put in Contact and Via.
	// Empty: the local address the request arrived on (for a wildcard
	// listener, the local address that routes to the caller).
	ContactHost string
	// UserAgent is sent in the User-Agent and Server headers.
	UserAgent string
	// LogMask, when set, hides the caller's number (the From user) in
	// logs; give it the mask of sip.caller_mask. Nil logs it as it is.
	LogMask func(user string) string
	// Trunks are the peers allowed to call us; see [Trunk].
	Trunks []Trunk
	// Handler is called for every accepted INVITE.
	Handler CallHandler
	// Ready, if set, says whether new calls are taken now: OPTIONS outside
	// a dialog gets 200 while it returns nil and 503 with Retry-After
	// otherwise (draining, overloaded, the room backend down), so that a
	// load balancer probing with OPTIONS (Kamailio's dispatcher) sends
	// new calls elsewhere. OPTIONS inside a dialog always gets 200.
	Ready func() error
	// SessionExpires is the session interval we ask for (RFC 4028 §4);
	// default 1800 s, negative disables session timers.
	SessionExpires time.Duration
	// MinSE is the smallest session interval we accept (RFC 4028 §5); a
	// smaller Session-Expires gets 422. Default 90 s.
	MinSE time.Duration
	// Limits bound the requests one source may send; over them a request
	// gets 503 with Retry-After (once a second per source) or is dropped.
	// The zero value limits nothing.
	Limits Limits
	// BlockUserAgents are User-Agent substrings (compared without case)
	// whose requests are dropped unanswered, so that a scanner learns
	// nothing, not even that we exist (sip.block_user_agents lists the
	// usual ones). Nil blocks none.
	BlockUserAgents []string
	// ProxyAuth challenges with 407 Proxy-Authenticate instead of 401
	// WWW-Authenticate (RFC 3261 §22.3).
	ProxyAuth bool
	// DigestAlgorithms lists the digest algorithms we offer, in order of
	// preference (RFC 8760 §2.4): "SHA-256", "MD5". Default both, SHA-256
	// first; set {"MD5"} for peers that give up on the first unknown one.
	DigestAlgorithms []string
	// NonceTTL is how long a digest nonce stays valid; an expired nonce gets
	// a new challenge with stale=true. Default 5 minutes.
	NonceTTL time.Duration
	// Lockout counts wrong digest credentials per source address (shared
	// with the PIN lockout); a locked-out source gets 403. Nil counts
	// nothing.
	Lockout *lockout.Table
	// Users, when set, are the accounts that may REGISTER and call in from
	// sources no trunk allows, with digest authentication in realm Domain
	// (401 challenge). Nil: REGISTER gets 405 and such sources 403.
	Users Users
	// Registrar keeps what REGISTER binds; REGISTER is served when both
	// Users and Registrar are set.
	Registrar Registrar
	// RegisterMinExpires is the shortest registration we accept (423 below
	// it, RFC 3261 §10.3 step 7); default 60 s. RegisterMaxExpires caps
	// longer ones; default 3600 s, also the expiry of a REGISTER that asks
	// for none.
	RegisterMinExpires, RegisterMaxExpires time.Duration
	// RewriteContact sends requests inside a dialog to the address the INVITE
	// came from instead of its Contact, for callers behind NAT. Reliable
	// transports always reuse the caller's connection while it is open.
	RewriteContact bool
}

// Trunk is a peer allowed to call the gateway.
type Trunk struct {
	// Name identifies the trunk in logs and to the handler.
	Name string
	// Allow lists the source prefixes the trunk's INVITEs come from.
	Allow []netip.Prefix
	// Username and Password, when Username is set, require digest
	// authentication (RFC 3261 §22) in Realm (default: Config.Domain).
	Username, Password, Realm string
	// Numbers, when set, restricts the trunk to these called numbers
	// (Request-URI user part). A pattern is an exact number, a prefix ending
	// in "*" ("+4930*"), or "*" for any.
	Numbers []string
	// SRTP is the trunk's SRTP policy, "disable", "allow" or "require",
	// passed through for the gateway's SDP answer.
	SRTP string
	// DTMF is the trunk's DTMF mode (for example "rfc4733", "info",
	// "inband"), passed through for the gateway.
	DTMF string
	// PINLockout says what wrong PINs from this trunk are counted against
	// ("both", "caller" or "source"), passed through for the gateway.
	PINLockout string
	// MaxCPS, when positive, is the request rate per second (per class,
	// as Config.Limits) each source in Allow gets instead of
	// Config.Limits: a carrier sends hundreds of calls a second from one
	// address. Give it only to trunks whose Allow is narrow.
	MaxCPS float64
	// MaxCalls, when positive, bounds the trunk's calls in progress;
	// more INVITEs get 503 with Retry-After.
	MaxCalls int
	// Trusted, SRTPOverPlain: passed through for the gateway (direct
	// dialling without the room's PIN; SDES keys over non-TLS signalling).
	Trusted, SRTPOverPlain bool
	// ClickToCall lets the trunk's callers dial numbers that the
	// outbound trunks serve (a PBX or SBC handing calls out to the PSTN
	// through the gateway); passed through for the gateway.
	ClickToCall bool
	// DigestAlgorithms, when set, replaces Config.DigestAlgorithms for this
	// trunk: {"MD5"} for phones that give up on a SHA-256 challenge
	// instead of skipping it (baresip 1.0 / libre 1.1 do).
	DigestAlgorithms []string
}

const (
	defaultSessionExpires = 1800 * time.Second
	defaultMinSE          = 90 * time.Second
	defaultNonceTTL       = 5 * time.Minute
	defaultMinExpires     = 60 * time.Second
	defaultMaxExpires     = 3600 * time.Second
	defaultRealm          = "roombridge"
	defaultUserAgent      = "roombridge"
)

// listenSpec is one parsed Config.Listen entry.
type listenSpec struct {
	network string // udp, tcp or tls
	addr    string // host:port
}

// withDefaults returns a copy of c with defaults filled in, or an error
// naming the first invalid field.
func (c Config) withDefaults() (Config, []listenSpec, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Handler == nil {
		return c, nil, fmt.Errorf("%w: Handler is required", ErrInvalidConfig)
	}
	if c.UserAgent == "" {
		c.UserAgent = defaultUserAgent
	}
	if c.SessionExpires == 0 {
		c.SessionExpires = defaultSessionExpires
	}
	if c.MinSE <= 0 {
		c.MinSE = defaultMinSE
	}
	if c.SessionExpires > 0 && c.SessionExpires < c.MinSE {
		return c, nil, fmt.Errorf("%w: SessionExpires %v is below MinSE %v", ErrInvalidConfig, c.SessionExpires, c.MinSE)
	}
	if c.NonceTTL <= 0 {
		c.NonceTTL = defaultNonceTTL
	}
	if c.RegisterMinExpires <= 0 {
		c.RegisterMinExpires = defaultMinExpires
	}
	if c.RegisterMaxExpires <= 0 {
		c.RegisterMaxExpires = defaultMaxExpires
	}
	if c.RegisterMaxExpires < c.RegisterMinExpires {
		return c, nil, fmt.Errorf("%w: RegisterMaxExpires %v is below RegisterMinExpires %v", ErrInvalidConfig, c.RegisterMaxExpires, c.RegisterMinExpires)
	}
	if len(c.DigestAlgorithms) == 0 {
		c.DigestAlgorithms = []string{algSHA256, algMD5}
	}
	var err error
	if c.DigestAlgorithms, err = digestAlgorithms(c.DigestAlgorithms); err != nil {
		return c, nil, fmt.Errorf("%w: DigestAlgorithms%w", ErrInvalidConfig, err)
	}
	if c.Limits.InvitesPerSecond < 0 || c.Limits.RegistersPerSecond < 0 || c.Limits.OptionsPerSecond < 0 {
		return c, nil, fmt.Errorf("%w: Limits has a negative rate", ErrInvalidConfig)
	}
	ua := make([]string, 0, len(c.BlockUserAgents))
	for _, b := range c.BlockUserAgents {
		if b = strings.ToLower(strings.TrimSpace(b)); b != "" {
			ua = append(ua, b)
		}
	}
	c.BlockUserAgents = ua
	if c.TLSConfig != nil {
		c.TLSConfig = c.TLSConfig.Clone()
		if c.TLSConfig.MinVersion < tls.VersionTLS12 {
			c.TLSConfig.MinVersion = tls.VersionTLS12
		}
	}
	c.Trunks = append([]Trunk(nil), c.Trunks...)
	for i := range c.Trunks {
		t := &c.Trunks[i]
		if t.Name == "" {
			t.Name = fmt.Sprintf("trunk%d", i)
		}
		if len(t.Allow) == 0 {
			return c, nil, fmt.Errorf("%w: Trunks[%d] (%s): Allow is empty", ErrInvalidConfig, i, t.Name)
		}
		switch t.SRTP {
		case "", "disable", "allow", "require":
		default:
			return c, nil, fmt.Errorf("%w: Trunks[%d] (%s): SRTP %q is not disable, allow or require", ErrInvalidConfig, i, t.Name, t.SRTP)
		}
		if t.MaxCPS < 0 || t.MaxCalls < 0 {
			return c, nil, fmt.Errorf("%w: Trunks[%d] (%s): MaxCPS and MaxCalls must not be negative", ErrInvalidConfig, i, t.Name)
		}
		if t.Password != "" && t.Username == "" {
			return c, nil, fmt.Errorf("%w: Trunks[%d] (%s): Password without Username", ErrInvalidConfig, i, t.Name)
		}
		if len(t.DigestAlgorithms) == 0 {
			t.DigestAlgorithms = c.DigestAlgorithms
		} else if t.DigestAlgorithms, err = digestAlgorithms(t.DigestAlgorithms); err != nil {
			return c, nil, fmt.Errorf("%w: Trunks[%d] (%s): DigestAlgorithms%w", ErrInvalidConfig, i, t.Name, err)
		}
		if t.Realm == "" {
			t.Realm = c.Domain
		}
		if t.Realm == "" {
			t.Realm = defaultRealm
		}
		for j, n := range t.Numbers {
			if n == "" || strings.Contains(strings.TrimSuffix(n, "*"), "*") {
				return c, nil, fmt.Errorf("%w: Trunks[%d] (%s): Numbers[%d] %q: only a trailing * is allowed", ErrInvalidConfig, i, t.Name, j, n)
			}
		}
	}
	specs := make([]listenSpec, 0, len(c.Listen))
	for i, l := range c.Listen {
		u, err := url.Parse(l)
		if err != nil || u.Host == "" {
			return c, nil, fmt.Errorf("%w: Listen[%d] %q: want udp://, tcp:// or tls://host:port", ErrInvalidConfig, i, l)
		}
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return c, nil, fmt.Errorf("%w: Listen[%d] %q: %w", ErrInvalidConfig, i, l, err)
		}
		switch u.Scheme {
		case "udp", "tcp":
		case "tls":
			if c.TLSConfig == nil {
				return c, nil, fmt.Errorf("%w: Listen[%d] %q needs TLSConfig", ErrInvalidConfig, i, l)
			}
		default:
			return c, nil, fmt.Errorf("%w: Listen[%d] %q: unknown transport %q", ErrInvalidConfig, i, l, u.Scheme)
		}
		specs = append(specs, listenSpec{network: u.Scheme, addr: u.Host})
	}
	return c, specs, nil
}

// digestAlgorithms returns a copy of algs in upper case, or an error
// "[i]: unsupported ..." for the first one we do not implement.
func digestAlgorithms(algs []string) ([]string, error) {
	out := make([]string, len(algs))
	for i, a := range algs {
		switch strings.ToUpper(a) {
		case algMD5, algSHA256:
			out[i] = strings.ToUpper(a)
		default:
			return nil, fmt.Errorf("[%d]: unsupported %q (want SHA-256 or MD5)", i, a)
		}
	}
	return out, nil
}
