package outbound

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// Trunk is one outbound trunk: a carrier or SBC we send calls to.
type Trunk struct {
	// Name identifies the trunk in the API, logs and metrics.
	Name string
	// URI is the carrier's SIP URI, e.g. "sip:sip.carrier.example" or
	// "sip:sip.carrier.example:5061;transport=tls". Without a port its
	// servers are found by RFC 3263 (NAPTR, SRV, A/AAAA).
	URI string
	// Username and Password answer the carrier's digest challenges
	// (RFC 3261 §22.2); Realm, when set, is the only realm answered.
	Username, Password, Realm string
	// FromNumber is our caller id (From user) when a dial gives none;
	// FromDomain the From host, the URI's host when empty.
	FromNumber, FromDomain string
	// Register keeps a registration with the carrier (RFC 3261 §10),
	// asking for RegisterExpires (default 1 h).
	Register        bool
	RegisterExpires time.Duration
	// Priority orders trunks for a number: lower first; equal priorities
	// keep their order of configuration.
	Priority int
	// Numbers are the numbers this trunk may dial: exact, a prefix ending
	// in "*", or "*"; empty means any.
	Numbers []string
	// OptionsInterval is how often the trunk is pinged with OPTIONS; 0
	// turns pings off (the trunk is then always tried).
	OptionsInterval time.Duration
	// InviteTimeout is how long an INVITE waits for any response (even
	// 100 Trying) before the next server or trunk is tried; default 5 s.
	InviteTimeout time.Duration
}

// Defaults of Trunk fields.
const (
	DefaultRegisterExpires = time.Hour
	DefaultInviteTimeout   = 5 * time.Second
	// MinRegisterExpires is the shortest registration we ask for.
	MinRegisterExpires = 60 * time.Second
)

var numberRe = regexp.MustCompile(`^\+?[0-9*#]{1,32}$`)

// trunkURI is a parsed Trunk.URI.
type trunkURI struct {
	uri       sip.Uri
	transport uac.Transport // from ;transport=, unknown when absent
}

// Check validates t and fills in defaults; errors name the field.
func (t *Trunk) Check() (trunkURI, error) {
	var tu trunkURI
	bad := func(field, format string, args ...any) (trunkURI, error) {
		return tu, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if t.Name == "" {
		return bad("name", "must not be empty")
	}
	if t.URI == "" {
		return bad("uri", "must not be empty")
	}
	lower := strings.ToLower(t.URI)
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") {
		return bad("uri", "must start with sip: or sips:, not %q", t.URI)
	}
	if err := sip.ParseUri(t.URI, &tu.uri); err != nil || tu.uri.Host == "" {
		return bad("uri", "not a SIP URI: %q", t.URI)
	}
	if tp, ok := tu.uri.UriParams.Get("transport"); ok {
		tr, err := uac.ParseTransport(tp)
		if err != nil {
			return bad("uri", "transport %q is not udp, tcp or tls", tp)
		}
		tu.transport = tr
	}
	if tu.uri.IsEncrypted() && tu.transport != uac.TransportUnknown && tu.transport != uac.TransportTLS {
		return bad("uri", "sips: needs transport=tls")
	}
	if (t.Username == "") != (t.Password == "") {
		return bad("password", "username and password go together")
	}
	if t.Register && t.Username == "" {
		return bad("register", "needs username and password")
	}
	if t.RegisterExpires == 0 {
		t.RegisterExpires = DefaultRegisterExpires
	}
	if t.Register && t.RegisterExpires < MinRegisterExpires {
		return bad("register_expires", "must be at least %v", MinRegisterExpires)
	}
	if t.FromNumber != "" && !numberRe.MatchString(t.FromNumber) {
		return bad("from_number", "not a number: %q", t.FromNumber)
	}
	if t.FromDomain == "" {
		t.FromDomain = strings.Trim(tu.uri.Host, "[]")
	}
	for i, n := range t.Numbers {
		if n != "*" && !numberRe.MatchString(strings.TrimSuffix(n, "*")) {
			return bad(fmt.Sprintf("numbers[%d]", i), "not a number or prefix*: %q", n)
		}
	}
	if t.OptionsInterval < 0 || (t.OptionsInterval > 0 && t.OptionsInterval < time.Second) {
		return bad("options_interval", "must be 0 (off) or at least 1s")
	}
	if t.InviteTimeout == 0 {
		t.InviteTimeout = DefaultInviteTimeout
	}
	if t.InviteTimeout < 500*time.Millisecond {
		return bad("invite_timeout", "must be at least 500ms")
	}
	return tu, nil
}

// dials reports whether the trunk may dial number.
func (t *Trunk) dials(number string) bool {
	if len(t.Numbers) == 0 {
		return true
	}
	for _, p := range t.Numbers {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(number, prefix) {
				return true
			}
		} else if p == number {
			return true
		}
	}
	return false
}
