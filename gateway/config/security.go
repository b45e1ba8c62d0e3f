package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// DefaultAPIKey is the room API key of the defaults and of the example
// config: public knowledge, so refused on a listener others can reach.
const DefaultAPIKey = "devkey-change-me"

// DefaultLiveKitSecret is livekit-server's --dev secret, refused the same
// way.
const DefaultLiveKitSecret = "secret"

// DefaultTrunkCPS is the request rate a source of a narrow trunk gets per
// second when the trunk sets no max_cps: a carrier or SBC sends hundreds
// of calls a second from one address.
const DefaultTrunkCPS = 500

// Narrow reports whether the trunk's allow list holds only single hosts or
// small subnets: loopback, or IPv4 prefixes of /24 or longer, or IPv6
// prefixes of /64 or longer. Only a narrow trunk may be trusted without
// digest auth, or get a rate ceiling of its own: a wider list is somebody
// else's network, or the internet.
func (t Trunk) Narrow() bool {
	for _, a := range t.Allow {
		p, err := ParsePrefix(a)
		if err != nil {
			return false
		}
		addr := p.Addr().Unmap()
		switch {
		case addr.IsLoopback():
		case addr.Is4() && p.Bits()-(p.Addr().BitLen()-32) >= 24:
		case addr.Is6() && p.Bits() >= 64:
		default:
			return false
		}
	}
	return len(t.Allow) > 0
}

// ParsePrefix reads an address list entry (trunks[].allow,
// http.trusted_proxies): a CIDR, or a single address as a full-length
// prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err == nil {
		return p.Masked(), nil
	}
	if a, aerr := netip.ParseAddr(s); aerr == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("not a CIDR or IP: %q", s)
}

// LoopbackOnly reports whether host:port listens on loopback only
// (127.0.0.0/8, ::1, localhost); an empty or wildcard host does not.
func LoopbackOnly(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// validateSecurity refuses what would let strangers in once the gateway
// is reachable from other machines: the public example API key, join
// tokens that change at every restart, plain HTTP without a proxy that
// terminates TLS, LiveKit's development secret.
func (c *Config) validateSecurity(bad func(key, format string, args ...any)) {
	for i, p := range c.HTTP.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			bad(fmt.Sprintf("http.trusted_proxies[%d]", i), "%v", err)
		}
	}
	if c.HTTP.MaxSocketsPerIP < 0 {
		bad("http.max_sockets_per_ip", "must not be negative (0 = no bound)")
	}
	if c.Metrics.Key != "" && len(c.Metrics.Key) < 16 {
		bad("metrics.key", "must be at least 16 characters (or empty: no key)")
	}
	// Profiles show stacks, command lines and timings: never to strangers.
	if c.Metrics.PProf && c.Metrics.Key == "" && !LoopbackOnly(c.HTTP.Listen) {
		bad("metrics.pprof", "needs metrics.key with http.listen %s (not loopback)", c.HTTP.Listen)
	}
	l := c.SIP.Limits
	if l.InvitesPerSecond < 0 || l.RegistersPerSecond < 0 || l.OptionsPerSecond < 0 {
		bad("sip.limits", "rates must not be negative (0 = no limit)")
	}
	for i, ua := range c.SIP.BlockUserAgents {
		if strings.TrimSpace(ua) == "" {
			bad(fmt.Sprintf("sip.block_user_agents[%d]", i), "must not be empty")
		}
	}
	if LoopbackOnly(c.HTTP.Listen) {
		return
	}
	public := fmt.Sprintf("with http.listen %s (not loopback)", c.HTTP.Listen)
	for i, k := range c.API.Keys {
		if k == DefaultAPIKey {
			bad(fmt.Sprintf("api.keys[%d]", i), "%q is the public example key; set your own (ROOMBRIDGE_API_KEYS) %s", k, public)
		}
	}
	// With Redis the nodes keep one generated secret there, which survives
	// restarts and spans nodes.
	if c.HTTP.TokenSecret == "" && c.Store.Redis.Addr == "" {
		bad("http.token_secret", "must be set (16+ characters, ROOMBRIDGE_HTTP_TOKEN_SECRET), or shared through store.redis, %s: a random one per start breaks join links at every restart and between nodes", public)
	}
	if c.HTTP.TLS.Cert == "" && len(c.HTTP.TrustedProxies) == 0 {
		bad("http.tls", "plain HTTP %s would carry API keys, PINs and join tokens in clear: set http.tls.cert and .key, or http.trusted_proxies to the reverse proxy that terminates TLS", public)
	}
	if c.Backend == BackendLiveKit && c.LiveKit.APISecret == DefaultLiveKitSecret {
		bad("livekit.api_secret", "%q is livekit-server's development secret; set your own %s", c.LiveKit.APISecret, public)
	}
}

// validateTrunkSecurity checks the keys of trunk i that decide who gets in
// without a PIN, at what rate, and where SDES keys may travel.
func (c *Config) validateTrunkSecurity(key string, t Trunk, bad func(key, format string, args ...any)) {
	digest := t.Username != ""
	if t.Trusted && !digest && !t.Narrow() {
		bad(key+".trusted", "a trusted trunk's callers skip room PINs, so it needs digest auth (username/password) or an allow list of single hosts, /24 (IPv4) or /64 (IPv6) subnets or narrower; %v is wider", t.Allow)
	}
	if t.ClickToCall && !digest && !t.Narrow() {
		bad(key+".click_to_call", "a click_to_call trunk's callers dial out to the PSTN at your expense, so it needs digest auth (username/password) or an allow list of single hosts, /24 (IPv4) or /64 (IPv6) subnets or narrower; %v is wider", t.Allow)
	}
	switch {
	case t.MaxCPS < 0:
		bad(key+".max_cps", "must not be negative")
	case t.MaxCPS > 0 && !t.Narrow():
		bad(key+".max_cps", "a rate ceiling of its own needs an allow list of single hosts, /24 (IPv4) or /64 (IPv6) subnets or narrower; %v is wider and gets sip.limits", t.Allow)
	}
	if t.MaxCalls < 0 {
		bad(key+".max_calls", "must not be negative (0 = no bound)")
	}
	if t.SRTP == "require" && len(t.Allow) > 0 && !t.SRTPOverPlain && !slices.ContainsFunc(c.SIP.Listen, func(l string) bool { return strings.HasPrefix(l, "tls://") }) {
		bad(key+".srtp", "require sends SDES keys, which travel only over SIP/TLS: add a tls:// listener to sip.listen, or set %s.srtp_over_plain: true (a lab: anyone on the path reads the keys)", key)
	}
	for j, a := range t.DigestAlgorithms {
		switch strings.ToUpper(a) {
		case "SHA-256", "MD5":
		default:
			bad(fmt.Sprintf("%s.digest_algorithms[%d]", key, j), "must be SHA-256 or MD5, not %q", a)
		}
	}
}
