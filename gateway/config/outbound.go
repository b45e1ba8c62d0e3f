package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/webhook"
)

// dialNumberRe is a number a trunk dials or presents: digits, * and #.
var dialNumberRe = regexp.MustCompile(`^\+?[0-9*#]{1,32}$`)

// validateOutbound checks trunks[i].outbound.
func validateOutbound(key string, o OutboundTrunk, bad func(key, format string, args ...any)) {
	lower := strings.ToLower(o.URI)
	switch {
	case o.URI == "":
		bad(key+".uri", "must not be empty")
	case !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:"):
		bad(key+".uri", "must be a sip: or sips: URI, not %q", o.URI)
	case strings.ContainsAny(o.URI, " @?"):
		bad(key+".uri", "must be sip:host[:port][;transport=...] without a user part, not %q", o.URI)
	default:
		for p := range strings.SplitSeq(o.URI, ";") {
			if v, ok := strings.CutPrefix(strings.ToLower(p), "transport="); ok && v != "udp" && v != "tcp" && v != "tls" {
				bad(key+".uri", "transport %q is not udp, tcp or tls", v)
			}
		}
	}
	if (o.Username == "") != (o.Password == "") {
		bad(key+".password", "username and password go together")
	}
	if o.Register && o.Username == "" {
		bad(key+".register", "needs username and password")
	}
	if o.Register && o.RegisterExpires != 0 && o.RegisterExpires < time.Minute {
		bad(key+".register_expires", "must be at least 1m")
	}
	if o.RegisterExpires < 0 {
		bad(key+".register_expires", "must not be negative")
	}
	if o.FromNumber != "" && !dialNumberRe.MatchString(o.FromNumber) {
		bad(key+".from_number", "not a number: %q", o.FromNumber)
	}
	for j, n := range o.Numbers {
		if n != "*" && !dialNumberRe.MatchString(strings.TrimSuffix(n, "*")) {
			bad(fmt.Sprintf("%s.numbers[%d]", key, j), "not a number or prefix*: %q", n)
		}
	}
	if o.OptionsInterval < 0 || (o.OptionsInterval > 0 && o.OptionsInterval < time.Second) {
		bad(key+".options_interval", "must be 0 (off) or at least 1s")
	}
	if o.InviteTimeout != 0 && o.InviteTimeout < 500*time.Millisecond {
		bad(key+".invite_timeout", "must be at least 500ms")
	}
}

// validateOutboundSRTP refuses srtp: require on an outbound trunk whose
// INVITEs do not go over TLS: the SDES keys of its offers would travel in
// the clear. srtp_over_plain allows it (a lab).
func validateOutboundSRTP(key string, t Trunk, bad func(key, format string, args ...any)) {
	if t.SRTP != "require" || t.SRTPOverPlain || outboundTLS(t.Outbound.URI) {
		return
	}
	bad(key+".srtp", "require sends SDES keys, which travel only over SIP/TLS: make %s.outbound.uri sips: or ;transport=tls, or set %s.srtp_over_plain: true (a lab: anyone on the path reads the keys)", key, key)
}

// outboundTLS reports whether an outbound URI sends over TLS: sips:, or
// ;transport=tls.
func outboundTLS(uri string) bool {
	lower := strings.ToLower(uri)
	return strings.HasPrefix(lower, "sips:") || strings.Contains(lower, ";transport=tls")
}

// validateWebhook checks webhooks[i].
func validateWebhook(key string, w Webhook, bad func(key, format string, args ...any)) {
	if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad(key+".url", "must be an http(s) URL, not %q", w.URL)
	}
	if len(w.Secret) < 16 {
		bad(key+".secret", "must be at least 16 characters")
	}
	for j, e := range w.Events {
		if !slices.Contains(webhook.EventTypes, e) {
			bad(fmt.Sprintf("%s.events[%d]", key, j), "unknown event %q (one of %s)", e, strings.Join(webhook.EventTypes, ", "))
		}
	}
}
