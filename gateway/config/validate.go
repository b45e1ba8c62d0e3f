package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	roomNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	digitsRe   = regexp.MustCompile(`^[0-9]{4,12}$`)
	numberRe   = regexp.MustCompile(`^\+?[0-9A-Za-z*#._-]{1,32}$`)
	langRe     = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	nodeIDRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	prefixRe   = regexp.MustCompile(`^[A-Za-z0-9:._{}-]{0,64}$`)
	// headerNameRe is an RFC 3261 §25.1 token, as header names are.
	headerNameRe = regexp.MustCompile(`^[A-Za-z0-9!%*_+.~'` + "`" + `-]{1,64}$`)
	attrNameRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	sipUserRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]{0,63}$`)
)

// Validate checks every key and returns all problems at once, each naming
// its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Reason: fmt.Sprintf(format, args...)})
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, not %q", c.Log.Format)
	}

	if err := checkHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen", "%v", err)
	}
	if c.HTTP.PublicURL != "" {
		if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("http.public_url", "must be an http(s) URL, not %q", c.HTTP.PublicURL)
		}
	}
	checkTLS("http.tls", c.HTTP.TLS, bad)
	if c.HTTP.TokenTTL <= 0 {
		bad("http.token_ttl", "must be positive")
	}
	if c.HTTP.TokenSecret != "" && len(c.HTTP.TokenSecret) < 16 {
		bad("http.token_secret", "must be at least 16 characters (or empty for a random one)")
	}

	for i, l := range c.SIP.Listen {
		if err := checkSIPListen(l); err != nil {
			bad(fmt.Sprintf("sip.listen[%d]", i), "%v", err)
		}
		if strings.HasPrefix(l, "tls://") || strings.HasPrefix(l, "wss://") {
			if c.SIP.TLS.Cert == "" || c.SIP.TLS.Key == "" {
				bad("sip.tls", "%s needs sip.tls.cert and sip.tls.key", l)
			}
		}
	}
	checkTLS("sip.tls", c.SIP.TLS, bad)
	if c.SIP.Domain == "" {
		bad("sip.domain", "must not be empty")
	}
	if c.SIP.CallerMask.Prefix < 0 || c.SIP.CallerMask.Suffix < 0 {
		bad("sip.caller_mask", "prefix and suffix must not be negative")
	}
	if c.SIP.MinSE < 90*time.Second {
		bad("sip.min_se", "must be at least 90s (RFC 4028)")
	}
	if c.SIP.SessionExpires < c.SIP.MinSE {
		bad("sip.session_expires", "must not be below sip.min_se (%s)", c.SIP.MinSE)
	}
	c.validateSIPWeb(bad)
	if c.SIP.VideoBitrate < 64_000 || c.SIP.VideoBitrate > 100_000_000 {
		bad("sip.video_bitrate", "must be between 64000 and 100000000 bit/s, not %d", c.SIP.VideoBitrate)
	}
	if c.RTP.Timeout < 0 || (c.RTP.Timeout > 0 && c.RTP.Timeout < time.Second) {
		bad("rtp.timeout", "must be 0 (off) or at least 1s")
	}

	checkPorts("rtp", c.RTP.PortMin, c.RTP.PortMax, bad)
	if c.RTP.ExternalIP != "" {
		if _, err := netip.ParseAddr(c.RTP.ExternalIP); err != nil {
			bad("rtp.external_ip", "not an IP address: %q", c.RTP.ExternalIP)
		}
	}
	if c.WebRTC.PortMin != 0 || c.WebRTC.PortMax != 0 {
		checkPorts("webrtc", c.WebRTC.PortMin, c.WebRTC.PortMax, bad)
		if c.RTP.PortMin <= c.WebRTC.PortMax && c.WebRTC.PortMin <= c.RTP.PortMax {
			bad("webrtc.port_min", "range %d-%d overlaps rtp %d-%d", c.WebRTC.PortMin, c.WebRTC.PortMax, c.RTP.PortMin, c.RTP.PortMax)
		}
	}
	for i, s := range c.WebRTC.STUNServers {
		if !strings.HasPrefix(s, "stun:") && !strings.HasPrefix(s, "turn:") && !strings.HasPrefix(s, "turns:") {
			bad(fmt.Sprintf("webrtc.stun_servers[%d]", i), "must start with stun:, turn: or turns:, not %q", s)
		}
	}

	if len(c.API.Keys) == 0 {
		bad("api.keys", "at least one key is needed")
	}
	for i, k := range c.API.Keys {
		if len(k) < 8 {
			bad(fmt.Sprintf("api.keys[%d]", i), "must be at least 8 characters")
		}
	}
	if c.Store.Path == "" && c.Store.Redis.Addr == "" {
		bad("store.path", "must not be empty")
	}
	c.validateNode(bad)

	switch c.Backend {
	case BackendEmbedded:
	case BackendLiveKit:
		if u, err := url.Parse(c.LiveKit.URL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https") {
			bad("livekit.url", "must be a ws(s):// or http(s):// URL, not %q", c.LiveKit.URL)
		}
		if c.LiveKit.APIKey == "" {
			bad("livekit.api_key", "must not be empty with backend: livekit")
		}
		if c.LiveKit.APISecret == "" {
			bad("livekit.api_secret", "must not be empty with backend: livekit")
		}
	default:
		bad("backend", "must be embedded or livekit, not %q", c.Backend)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"livekit.connect_timeout", c.LiveKit.ConnectTimeout},
		{"livekit.health_interval", c.LiveKit.HealthInterval},
		{"livekit.reconnect_grace", c.LiveKit.ReconnectGrace},
	} {
		if d.v < 100*time.Millisecond {
			bad(d.key, "must be at least 100ms, not %v", d.v)
		}
	}

	trunkNames := map[string]bool{}
	for i, t := range c.Trunks {
		key := fmt.Sprintf("trunks[%d]", i)
		if t.Name == "" {
			bad(key+".name", "must not be empty")
		} else if trunkNames[t.Name] {
			bad(key+".name", "duplicate trunk %q", t.Name)
		}
		trunkNames[t.Name] = true
		if len(t.Allow) == 0 && t.Outbound == nil {
			bad(key+".allow", "list at least one source CIDR (or give the trunk an outbound section)")
		}
		for h, attr := range t.HeadersToAttributes {
			if !headerNameRe.MatchString(h) {
				bad(key+".headers_to_attributes", "%q is not a SIP header name", h)
			}
			if !attrNameRe.MatchString(attr) {
				bad(key+".headers_to_attributes", "attribute %q for %s: use letters, digits, _ . -", attr, h)
			}
		}
		if t.Outbound != nil {
			validateOutbound(key+".outbound", *t.Outbound, bad)
			validateOutboundSRTP(key, t, bad)
		}
		switch t.SRTP {
		case "", "disable", "allow", "require":
		default:
			bad(key+".srtp", "must be disable, allow or require, not %q", t.SRTP)
		}
		validateCodecs(key+".codecs", t.Codecs, bad)
		switch t.DTMF {
		case "", "auto", "rfc4733", "info", "inband":
		default:
			bad(key+".dtmf", "must be auto, rfc4733, info or inband, not %q", t.DTMF)
		}
		switch t.PINLockout {
		case "", "both", "caller", "source":
		default:
			bad(key+".pin_lockout", "must be both, caller or source, not %q", t.PINLockout)
		}
		if (t.Username == "") != (t.Password == "") {
			bad(key+".password", "username and password go together")
		}
		for j, n := range t.Numbers {
			if n != "*" && !numberRe.MatchString(strings.TrimSuffix(n, "*")) {
				bad(fmt.Sprintf("%s.numbers[%d]", key, j), "not a number or prefix*: %q", n)
			}
		}
		c.validateTrunkSecurity(key, t, bad)
		for j, cidr := range t.Allow {
			if _, err := ParsePrefix(cidr); err != nil {
				bad(fmt.Sprintf("%s.allow[%d]", key, j), "%v", err)
			}
		}
	}
	for i, n := range c.DialIn.Numbers {
		if !numberRe.MatchString(n) {
			bad(fmt.Sprintf("dialin.numbers[%d]", i), "not a dialable number: %q", n)
		}
	}
	for n, lang := range c.DialIn.Languages {
		if !slices.Contains(c.DialIn.Numbers, n) {
			bad("dialin.languages", "%q is not one of dialin.numbers", n)
		}
		if !langRe.MatchString(lang) {
			bad("dialin.languages", "%q is not a language code like en or de", lang)
		}
	}
	for i, w := range c.Webhooks {
		validateWebhook(fmt.Sprintf("webhooks[%d]", i), w, bad)
	}
	c.validateIVR(bad)
	c.validateRooms(bad)
	if c.Limits.MaxLegs < 0 {
		bad("limits.max_legs", "must not be negative (0 sets no ceiling)")
	}
	if c.Limits.MaxCPU <= 0 || c.Limits.MaxCPU > 100 {
		bad("limits.max_cpu", "%g is not a percentage in (0, 100]", c.Limits.MaxCPU)
	}
	if c.Limits.MaxMachineCPU <= 0 || c.Limits.MaxMachineCPU > 100 {
		bad("limits.max_machine_cpu", "%g is not a percentage in (0, 100]", c.Limits.MaxMachineCPU)
	}
	if c.Limits.MaxLateTicks <= 0 || c.Limits.MaxLateTicks > 100 {
		bad("limits.max_late_ticks", "%g is not a percentage in (0, 100]", c.Limits.MaxLateTicks)
	}
	if c.Limits.ConcurrentJoins < 1 {
		bad("limits.concurrent_joins", "must be at least 1, not %d", c.Limits.ConcurrentJoins)
	}
	c.validateSecurity(bad)
	if c.Shutdown.Grace < 0 {
		bad("shutdown.grace", "must not be negative")
	}
	if c.Shutdown.DrainTimeout < 0 {
		bad("shutdown.drain_timeout", "must not be negative")
	}
	return errors.Join(errs...)
}

// validateNode checks node.id and store.redis, what several nodes share.
func (c *Config) validateNode(bad func(key, format string, args ...any)) {
	if c.Node.ID != "" && !nodeIDRe.MatchString(c.Node.ID) {
		bad("node.id", "must be letters, digits, '.', '_' or '-' (at most 63), not %q", c.Node.ID)
	}
	if a := c.Node.SIPAddress; a != "" {
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			bad("node.sip_address", "want host:port, got %q", a)
		} else if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			bad("node.sip_address", "%q is a wildcard address: give one the other nodes can reach", a)
		}
	}
	r := c.Store.Redis
	if r.Addr != "" {
		host, port, err := net.SplitHostPort(r.Addr)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			bad("store.redis.addr", "want host:port, got %q", r.Addr)
		}
	}
	if r.DB < 0 {
		bad("store.redis.db", "must not be negative")
	}
	if r.CA != "" {
		if !r.TLS {
			bad("store.redis.ca", "needs store.redis.tls: true")
		}
		if _, err := os.Stat(r.CA); err != nil {
			bad("store.redis.ca", "%q is not a readable file", r.CA)
		}
	}
	if !prefixRe.MatchString(r.Prefix) {
		bad("store.redis.prefix", "must be at most 64 letters, digits or ':._{}-', not %q", r.Prefix)
	}
}

// validateSIPWeb checks the keys of SIP over WebSocket and SIP users.
func (c *Config) validateSIPWeb(bad func(key, format string, args ...any)) {
	for i, o := range c.SIP.WSOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad(fmt.Sprintf("sip.ws_origins[%d]", i), "must be \"*\" or an origin like https://app.example.com (scheme, host, port only), not %q", o)
		}
	}
	if c.SIP.WSMaxPerIP < 0 {
		bad("sip.ws_max_per_ip", "must not be negative (0 means no limit)")
	}
	if c.SIP.WSPingInterval < time.Second {
		bad("sip.ws_ping_interval", "must be at least 1s")
	}
	seen := map[string]bool{}
	for i, u := range c.SIP.Users {
		key := fmt.Sprintf("sip.users[%d]", i)
		switch {
		case !sipUserRe.MatchString(u.Username):
			bad(key+".username", "must be 1 to 64 letters, digits, '.', '_', '~' or '-' (not starting with a symbol), not %q", u.Username)
		case seen[strings.ToLower(u.Username)]:
			bad(key+".username", "duplicate user %q", u.Username)
		}
		seen[strings.ToLower(u.Username)] = true
		if len(u.Password) < 8 {
			bad(key+".password", "must be at least 8 characters")
		}
	}
}

func (c *Config) validateIVR(bad func(key, format string, args ...any)) {
	v := c.IVR
	if !langRe.MatchString(v.Language) {
		bad("ivr.language", "%q is not a language code like en or de", v.Language)
	}
	if v.PromptsDir != "" {
		if st, err := os.Stat(v.PromptsDir); err != nil || !st.IsDir() {
			bad("ivr.prompts_dir", "%q is not a readable folder", v.PromptsDir)
		}
	}
	if v.FirstDigitTimeout < time.Second {
		bad("ivr.first_digit_timeout", "must be at least 1s")
	}
	if v.InterDigitTimeout < time.Second {
		bad("ivr.inter_digit_timeout", "must be at least 1s")
	}
	if v.MaxAttempts < 1 || v.MaxAttempts > 10 {
		bad("ivr.max_attempts", "must be 1 to 10")
	}
	if v.MaxFailures < 1 {
		bad("ivr.max_failures", "must be at least 1")
	}
	if v.FailureWindow <= 0 {
		bad("ivr.failure_window", "must be positive")
	}
	if v.Lockout <= 0 {
		bad("ivr.lockout", "must be positive")
	}
}

func (c *Config) validateRooms(bad func(key, format string, args ...any)) {
	names := map[string]bool{}
	pins := map[string]string{}
	usePIN := func(key, pin, owner string) {
		if pin == "" {
			return
		}
		if !digitsRe.MatchString(pin) {
			bad(key, "must be 4 to 12 digits")
			return
		}
		if other, ok := pins[pin]; ok {
			bad(key, "PIN already used by %s", other)
			return
		}
		pins[pin] = owner
	}
	for i, r := range c.Rooms {
		key := fmt.Sprintf("rooms[%d]", i)
		if !roomNameRe.MatchString(r.Name) {
			bad(key+".name", "must be lower-case letters, digits, - or _ (at most 64), not %q", r.Name)
		} else if names[r.Name] {
			bad(key+".name", "duplicate room %q", r.Name)
		}
		names[r.Name] = true
		usePIN(key+".pin", r.PIN, "room "+r.Name)
		usePIN(key+".host_pin", r.HostPIN, "room "+r.Name)
		if r.PIN != "" && r.PIN == r.HostPIN {
			bad(key+".host_pin", "must differ from pin")
		}
		if r.WaitForHost && r.HostPIN == "" {
			bad(key+".wait_for_host", "needs a host_pin, or no host could ever start the meeting")
		}
		if r.PINOnDirectDial && r.PIN == "" {
			bad(key+".pin_on_direct_dial", "needs a pin")
		}
		for j, a := range r.Aliases {
			if !numberRe.MatchString(a) {
				bad(fmt.Sprintf("%s.aliases[%d]", key, j), "not a dialable alias: %q", a)
			}
		}
	}
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", s)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && host != "localhost" {
			return fmt.Errorf("host %q is not an IP address", host)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number 0-65535", port)
	}
	return nil
}

func checkSIPListen(s string) error {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return fmt.Errorf("want transport://host:port, got %q", s)
	}
	switch scheme {
	case "udp", "tcp", "tls", "ws", "wss":
	default:
		return fmt.Errorf("transport %q is not udp, tcp, tls, ws or wss", scheme)
	}
	return checkHostPort(rest)
}

func checkPorts(prefix string, lo, hi uint16, bad func(key, format string, args ...any)) {
	if lo == 0 || hi == 0 {
		bad(prefix+".port_min", "port_min and port_max must both be set")
		return
	}
	if lo > hi {
		bad(prefix+".port_min", "%d is above port_max %d", lo, hi)
	}
	if lo < 1024 {
		bad(prefix+".port_min", "%d is a privileged port", lo)
	}
}

func checkTLS(prefix string, t TLS, bad func(key, format string, args ...any)) {
	if (t.Cert == "") != (t.Key == "") {
		bad(prefix, "cert and key go together")
	}
}
