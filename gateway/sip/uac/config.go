package uac

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Transport is the SIP transport of a call (RFC 3261 §18).
type Transport uint8

// Transports. The zero value takes the transport parameter of the target
// URI, else UDP.
const (
	TransportUnknown Transport = iota
	TransportUDP
	TransportTCP
	TransportTLS
	TransportWS  // SIP over WebSocket (RFC 7118)
	TransportWSS // SIP over secure WebSocket
)

// ParseTransport maps "udp", "tcp", "tls", "ws" or "wss" (any case) to a Transport;
// the empty string is TransportUnknown.
func ParseTransport(s string) (Transport, error) {
	switch strings.ToLower(s) {
	case "":
		return TransportUnknown, nil
	case "udp":
		return TransportUDP, nil
	case "tcp":
		return TransportTCP, nil
	case "tls":
		return TransportTLS, nil
	case "ws":
		return TransportWS, nil
	case "wss":
		return TransportWSS, nil
	}
	return TransportUnknown, fmt.Errorf("%w: transport %q (want udp, tcp, tls, ws or wss)", ErrInvalidConfig, s)
}

// String returns the lower-case name, as in a URI transport parameter.
func (t Transport) String() string {
	switch t {
	case TransportUDP:
		return "udp"
	case TransportTCP:
		return "tcp"
	case TransportTLS:
		return "tls"
	case TransportWS:
		return "ws"
	case TransportWSS:
		return "wss"
	}
	return "unknown"
}

// secure reports transports that run over TLS.
func (t Transport) secure() bool { return t == TransportTLS || t == TransportWSS }

// uriParam is the transport URI parameter: "ws" for both WebSocket
// transports (RFC 7118 §5.2).
func (t Transport) uriParam() string {
	if t == TransportWSS {
		return "ws"
	}
	return t.String()
}

// DefaultUserAgent is the User-Agent header value when Config gives none.
const DefaultUserAgent = "roombridge-call"

// Config describes one call. Dial copies it; it is not read afterwards.
type Config struct {
	// Target is the Request-URI, e.g. "sip:room@gw.example.com:5060" or
	// "sip:1234@10.0.0.1;transport=tcp" (required).
	Target string
	// Transport overrides the URI's transport parameter.
	Transport Transport
	// Destination, when set, is the address ("ip:port") the INVITE is
	// sent to instead of the Request-URI's host: an outbound proxy, or one
	// server of the Request-URI's domain found by RFC 3263 resolution.
	// The Request-URI and To stay Target.
	Destination string
	// ServerName is the name a TLS server's certificate must carry; the
	// Target's host when empty (RFC 5922 §4: the domain of the URI, not
	// the address it resolved to).
	ServerName string

	// Headers are added to the INVITE as they are (caller context for the
	// callee, e.g. X-Customer-Id or User-to-User). Headers the dialog
	// needs (From, To, Call-ID, CSeq, Via, Contact, Content-*) are refused
	// by Dial.
	Headers []Header
	// ResponseTimeout, when above zero, abandons the INVITE when not even
	// a provisional response came within it (the server is down or
	// unreachable): Dial returns an error wrapping ErrNoResponse without
	// waiting for the transaction's 32 s timeout. No CANCEL is sent, since
	// none may be before a provisional response (RFC 3261 §9.1).
	ResponseTimeout time.Duration

	// FromUser and FromDisplay make our From URI and display name
	// ("roombridge" and empty when not given); FromHost is its host,
	// LocalIP when empty.
	FromUser, FromDisplay, FromHost string
	// UserAgent is the User-Agent header; DefaultUserAgent when empty.
	UserAgent string

	// LocalIP is the address we signal from and put in Via and Contact.
	// Zero picks the address the system routes to the target from.
	LocalIP netip.Addr

	// TLSConfig is used for TLS; InsecureSkipVerify (also settable with
	// Insecure) accepts any server certificate, for tests.
	TLSConfig *tls.Config
	Insecure  bool

	// Username and Password answer one 401 or 407 digest challenge
	// (RFC 3261 §22.2, RFC 8760). A second challenge fails the call.
	Username, Password string
	// Realm, when set, is the only realm whose challenges are answered.
	Realm string

	// Offer is our SDP offer. Nil sends the INVITE without a body (a
	// delayed offer): the 2xx then carries the peer's offer, OnOffer
	// makes the answer and the ACK carries it (RFC 3261 §13.2.1).
	Offer   []byte
	OnOffer func(offer []byte) (answer []byte, err error)

	// OnReOffer answers an offer in the peer's re-INVITE or UPDATE (hold,
	// resume, new address). Nil answers with our last SDP unchanged. An
	// error rejects the request with 488.
	OnReOffer func(offer []byte) (answer []byte, err error)

	// OnProgress sees every provisional response to the INVITE: 100,
	// 180, 183 (with its early-media SDP, if any).
	OnProgress func(code int, reason string, sdp []byte)

	// OnInfo sees each INFO the peer sends (RFC 6086), after it has been
	// answered with 200. It runs on a goroutine of the SIP stack and must
	// not block for long.
	OnInfo func(contentType string, body []byte)

	// SessionExpires, when above zero, asks for that session interval
	// (RFC 4028 Session-Expires); either way we announce Supported: timer
	// and refresh when the peer makes us the refresher.
	SessionExpires time.Duration

	// Logger gets the call's logs; nil discards them.
	Logger *slog.Logger
}

// Header is one extra SIP header field.
type Header struct {
	Name, Value string
}

// reservedHeaders are the header fields Config.Headers may not set: the
// stack and the dialog own them (RFC 3261 §8.1.1).
var reservedHeaders = map[string]bool{
	"from": true, "f": true, "to": true, "t": true, "call-id": true, "i": true,
	"cseq": true, "via": true, "v": true, "contact": true, "m": true,
	"content-type": true, "c": true, "content-length": true, "l": true,
	"max-forwards": true, "route": true, "record-route": true,
	"authorization": true, "proxy-authorization": true,
}

// CheckHeader reports whether a header may be added to an INVITE through
// Config.Headers: a token name (RFC 3261 §25.1) that is not one the
// dialog owns, and a value without line breaks.
func CheckHeader(h Header) error {
	if h.Name == "" {
		return fmt.Errorf("%w: empty header name", ErrInvalidConfig)
	}
	for _, r := range h.Name {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return fmt.Errorf("%w: header name %q is not a token", ErrInvalidConfig, h.Name)
		}
	}
	if reservedHeaders[strings.ToLower(h.Name)] {
		return fmt.Errorf("%w: header %s is set by the dialog", ErrInvalidConfig, h.Name)
	}
	if strings.ContainsAny(h.Value, "\r\n\x00") {
		return fmt.Errorf("%w: header %s: value has a line break", ErrInvalidConfig, h.Name)
	}
	return nil
}

// settings is a validated Config.
type settings struct {
	Config
	target    sip.Uri
	transport Transport
	tls       *tls.Config
	log       *slog.Logger
}

func (c Config) validate(ctx context.Context) (*settings, error) {
	s := &settings{Config: c}
	if c.Target == "" {
		return nil, fmt.Errorf("%w: empty Target", ErrInvalidConfig)
	}
	target := c.Target
	lower := strings.ToLower(target)
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") {
		target = "sip:" + target
	}
	if err := sip.ParseUri(target, &s.target); err != nil {
		return nil, fmt.Errorf("%w: Target %q: %w", ErrInvalidConfig, c.Target, err)
	}
	if s.target.Host == "" {
		return nil, fmt.Errorf("%w: Target %q has no host", ErrInvalidConfig, c.Target)
	}
	s.transport = c.Transport
	if s.transport == TransportUnknown {
		tp, _ := s.target.UriParams.Get("transport")
		t, err := ParseTransport(tp)
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		s.transport = t
		if t == TransportUnknown {
			s.transport = TransportUDP
			if s.target.IsEncrypted() {
				s.transport = TransportTLS
			}
		}
	}
	if s.transport > TransportWSS {
		return nil, fmt.Errorf("%w: Transport %d", ErrInvalidConfig, s.transport)
	}
	for _, h := range c.Headers {
		if err := CheckHeader(h); err != nil {
			return nil, err
		}
	}
	if c.FromUser == "" {
		s.FromUser = "roombridge"
	}
	if c.UserAgent == "" {
		s.UserAgent = DefaultUserAgent
	}
	s.log = c.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.transport.secure() {
		if c.TLSConfig != nil {
			s.tls = c.TLSConfig.Clone()
		} else {
			s.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if s.tls.ServerName == "" {
			s.tls.ServerName = c.ServerName
			if s.tls.ServerName == "" {
				s.tls.ServerName = strings.Trim(s.target.Host, "[]")
			}
		}
		if c.Insecure {
			s.tls.InsecureSkipVerify = true //nolint:gosec // asked for, tests only
		}
	}
	if !s.LocalIP.IsValid() {
		host := s.target.Host
		if c.Destination != "" {
			h, _, err := net.SplitHostPort(c.Destination)
			if err != nil {
				return nil, fmt.Errorf("%w: Destination %q: %w", ErrInvalidConfig, c.Destination, err)
			}
			host = h
		}
		ip, err := routeIP(ctx, host, s.transport)
		if err != nil {
			return nil, fmt.Errorf("%w: LocalIP: %w", ErrInvalidConfig, err)
		}
		s.LocalIP = ip
	}
	s.LocalIP = s.LocalIP.Unmap()
	if s.FromHost == "" {
		s.FromHost = s.LocalIP.String()
	}
	return s, nil
}

// routeIP finds the local address the system would use to reach host: a
// UDP "connection" sends nothing but makes the kernel pick the route.
func routeIP(ctx context.Context, host string, t Transport) (netip.Addr, error) {
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if lerr != nil || len(ips) == 0 {
			return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, lerr)
		}
		ip = ips[0]
	}
	port := 5060
	if t.secure() {
		port = 5061
	}
	conn, err := net.Dial("udp", net.JoinHostPort(ip.Unmap().String(), strconv.Itoa(port)))
	if err != nil {
		return netip.Addr{}, err
	}
	defer conn.Close()
	ap, err := netip.ParseAddrPort(conn.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap(), nil
}

// LocalIPFor returns the local address the system routes to target's host
// from: what Dial uses when Config.LocalIP is zero. Callers that put the
// address in their SDP use it to agree with the SIP side.
func LocalIPFor(ctx context.Context, target string) (netip.Addr, error) {
	s, err := Config{Target: target, Offer: []byte{}}.validate(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	return s.LocalIP, nil
}
