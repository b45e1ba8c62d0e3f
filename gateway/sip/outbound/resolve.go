package outbound

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// Target is one server of a SIP domain: where a request goes, and over
// which transport.
type Target struct {
	Transport uac.Transport
	Addr      netip.AddrPort
	// Host is the name the address was found under (an SRV target, or
	// the URI's host), for logs.
	Host string
}

// String is "udp:203.0.113.5:5060".
func (t Target) String() string { return t.Transport.String() + ":" + t.Addr.String() }

// Resolver finds the servers of a SIP URI as RFC 3263 §4 describes:
// a numeric host or an explicit port is used as it is; otherwise NAPTR
// records choose the transport (when the URI names none), SRV records the
// servers in priority and weight order, and A/AAAA records their
// addresses. The zero value uses the system's resolver configuration.
type Resolver struct {
	// Server is the DNS server ("ip:port") asked for every record; empty
	// uses the first nameserver of /etc/resolv.conf for NAPTR and the
	// system resolver (with /etc/hosts) for the rest.
	Server string
	// Timeout bounds each DNS query; default 3 s.
	Timeout time.Duration
}

// naptrServices maps the NAPTR services of RFC 3263 §4.1 that we can use
// to their transport.
var naptrServices = map[string]uac.Transport{
	"SIP+D2U":  uac.TransportUDP,
	"SIP+D2T":  uac.TransportTCP,
	"SIPS+D2T": uac.TransportTLS,
}

// srvPrefix is the SRV owner prefix for a transport (RFC 3263 §4.2).
func srvPrefix(t uac.Transport) string {
	switch t {
	case uac.TransportTCP:
		return "_sip._tcp."
	case uac.TransportTLS:
		return "_sips._tcp."
	}
	return "_sip._udp."
}

func defaultPort(t uac.Transport) uint16 {
	if t == uac.TransportTLS {
		return 5061
	}
	return 5060
}

// Resolve returns the servers for host, port and transport (the parts of
// a SIP URI; port 0 and TransportUnknown when the URI has none; secure for
// sips:), in the order they are to be tried. It never returns an empty
// list without an error.
func (r *Resolver) Resolve(ctx context.Context, host string, port uint16, tp uac.Transport, secure bool) ([]Target, error) {
	host = strings.Trim(host, "[]")
	if secure && tp == uac.TransportUnknown {
		tp = uac.TransportTLS
	}
	// §4.1: a numeric address, or a name with a port, needs no NAPTR
	// or SRV; the transport defaults to UDP (TLS for sips).
	if ip, err := netip.ParseAddr(host); err == nil {
		if tp == uac.TransportUnknown {
			tp = uac.TransportUDP
		}
		if port == 0 {
			port = defaultPort(tp)
		}
		return []Target{{Transport: tp, Addr: netip.AddrPortFrom(ip.Unmap(), port), Host: host}}, nil
	}
	if port != 0 {
		if tp == uac.TransportUnknown {
			tp = uac.TransportUDP
		}
		return r.addresses(ctx, host, port, tp)
	}
	type srvQuery struct {
		name string
		tp   uac.Transport
	}
	var queries []srvQuery
	if tp != uac.TransportUnknown {
		queries = []srvQuery{{srvPrefix(tp) + host, tp}}
	} else {
		recs, err := r.naptr(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, n := range recs {
			t, ok := naptrServices[strings.ToUpper(n.Service)]
			if !ok || !strings.EqualFold(n.Flags, "s") || (secure && t != uac.TransportTLS) {
				continue
			}
			queries = append(queries, srvQuery{strings.TrimSuffix(n.Replacement, "."), t})
		}
		if len(queries) == 0 {
			// §4.1: no NAPTR, so an SRV query per transport we support.
			for _, t := range []uac.Transport{uac.TransportUDP, uac.TransportTCP, uac.TransportTLS} {
				if !secure || t == uac.TransportTLS {
					queries = append(queries, srvQuery{srvPrefix(t) + host, t})
				}
			}
		}
	}
	var out []Target
	var lastErr error
	for _, q := range queries {
		srvs, err := r.srv(ctx, q.name)
		if err != nil {
			lastErr = err
			continue
		}
		for _, s := range srvs {
			ts, err := r.addresses(ctx, strings.TrimSuffix(s.Target, "."), s.Port, q.tp)
			if err != nil {
				lastErr = err
				continue
			}
			out = append(out, ts...)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	// §4.2: no SRV records: the name's own addresses, default port.
	if tp == uac.TransportUnknown {
		tp = uac.TransportUDP
		if secure {
			tp = uac.TransportTLS
		}
	}
	ts, err := r.addresses(ctx, host, defaultPort(tp), tp)
	if err != nil {
		if lastErr != nil {
			return nil, fmt.Errorf("%w %s: %w; %w", ErrResolve, host, lastErr, err)
		}
		return nil, err
	}
	return ts, nil
}

// addresses looks up the A and AAAA records of host.
func (r *Resolver) addresses(ctx context.Context, host string, port uint16, tp uac.Transport) ([]Target, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	ips, err := r.netResolver().LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("%w %s: %w", ErrResolve, host, err)
	}
	// IPv4 first: the gateway's listeners are usually IPv4.
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		return cmp.Compare(boolInt(!a.Unmap().Is4()), boolInt(!b.Unmap().Is4()))
	})
	out := make([]Target, 0, len(ips))
	for _, ip := range ips {
		out = append(out, Target{Transport: tp, Addr: netip.AddrPortFrom(ip.Unmap(), port), Host: host})
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// srv looks up SRV records, sorted by priority and shuffled by weight
// (RFC 2782) by the standard library. "No such name" is an empty list.
func (r *Resolver) srv(ctx context.Context, name string) ([]*net.SRV, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	_, srvs, err := r.netResolver().LookupSRV(ctx, "", "", name)
	if err != nil {
		return nil, fmt.Errorf("%w: SRV %s: %w", ErrResolve, name, err)
	}
	// A single "." target means the service is not offered (RFC 2782).
	srvs = slices.DeleteFunc(srvs, func(s *net.SRV) bool { return s.Target == "." })
	return srvs, nil
}

// naptr looks up the NAPTR records of host (RFC 3403), ordered by order
// and preference. A name without any is an empty list, not an error.
func (r *Resolver) naptr(ctx context.Context, host string) ([]*dns.NAPTR, error) {
	server, err := r.server()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(host), dns.TypeNAPTR)
	m.RecursionDesired = true
	c := &dns.Client{Timeout: r.timeout()}
	in, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: NAPTR %s: %w", ErrResolve, host, err)
	}
	if in.Rcode != dns.RcodeSuccess && in.Rcode != dns.RcodeNameError {
		return nil, fmt.Errorf("%w: NAPTR %s: %s", ErrResolve, host, dns.RcodeToString[in.Rcode])
	}
	var out []*dns.NAPTR
	for _, rr := range in.Answer {
		if n, ok := rr.(*dns.NAPTR); ok {
			out = append(out, n)
		}
	}
	slices.SortStableFunc(out, func(a, b *dns.NAPTR) int {
		if c := cmp.Compare(a.Order, b.Order); c != 0 {
			return c
		}
		return cmp.Compare(a.Preference, b.Preference)
	})
	return out, nil
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return 3 * time.Second
}

// server is the DNS server for NAPTR queries.
func (r *Resolver) server() (string, error) {
	if r.Server != "" {
		return r.Server, nil
	}
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		return "", fmt.Errorf("%w: no DNS server in /etc/resolv.conf: %w", ErrResolve, err)
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}

// netResolver is the resolver for SRV and addresses: the system's, or
// one that asks Server only.
func (r *Resolver) netResolver() *net.Resolver {
	if r.Server == "" {
		return net.DefaultResolver
	}
	server := r.Server
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
}

// uriParts splits a parsed SIP URI into what Resolve takes.
func uriParts(tu trunkURI) (host string, port uint16, tp uac.Transport, secure bool) {
	p := tu.uri.Port
	if p < 0 || p > 65535 {
		p = 0
	}
	return tu.uri.Host, uint16(p), tu.transport, tu.uri.IsEncrypted()
}
