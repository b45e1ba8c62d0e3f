package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCarrierExampleLoads(t *testing.T) {
	cfg, err := Load("../../configs/carrier.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Trunks) != 3 || cfg.Trunks[1].Outbound == nil || !cfg.Trunks[1].Outbound.Register ||
		cfg.Trunks[2].Outbound.Priority != 20 || len(cfg.Trunks[2].Allow) != 0 {
		t.Fatalf("trunks %+v", cfg.Trunks)
	}
	if cfg.Trunks[1].Outbound.OptionsInterval != 30*time.Second || cfg.Trunks[1].HeadersToAttributes["User-to-User"] != "uui" {
		t.Fatalf("carrier-a %+v", cfg.Trunks[1])
	}
	if len(cfg.Webhooks) != 1 || len(cfg.Webhooks[0].Events) != 6 {
		t.Fatalf("webhooks %+v", cfg.Webhooks)
	}
}

// TestOutboundSRTPOverTLS: srtp: require on an outbound trunk loads when
// its INVITEs go over TLS, or with srtp_over_plain (a lab).
func TestOutboundSRTPOverTLS(t *testing.T) {
	for _, y := range []string{
		"trunks: [ { name: c, srtp: require, outbound: { uri: 'sips:carrier.example' } } ]",
		"trunks: [ { name: c, srtp: require, outbound: { uri: 'sip:carrier.example:5061;transport=tls' } } ]",
		"trunks: [ { name: c, srtp: require, srtp_over_plain: true, outbound: { uri: 'sip:127.0.0.1:5070' } } ]",
	} {
		if _, err := Load(write(t, y), nil); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
}

func TestOutboundErrorsNameTheKey(t *testing.T) {
	const tr = "trunks: [ { name: local, allow: [127.0.0.1] }, { name: c, outbound: { uri: 'sip:carrier.example', %s } } ]"
	for _, tc := range []struct{ yaml, key string }{
		{"trunks: [ { name: c, outbound: { uri: 'http://x' } } ]", "trunks[0].outbound.uri"},
		{"trunks: [ { name: c, outbound: { uri: 'sip:x;transport=sctp' } } ]", "trunks[0].outbound.uri"},
		{"trunks: [ { name: c, outbound: { uri: 'sip:alice@x' } } ]", "trunks[0].outbound.uri"},
		{"trunks: [ { name: c } ]", "trunks[0].allow"},
		{strings.Replace(tr, "%s", "username: u", 1), "trunks[1].outbound.password"},
		{strings.Replace(tr, "%s", "register: true", 1), "trunks[1].outbound.register"},
		{strings.Replace(tr, "%s", "username: u, password: p, register: true, register_expires: 10s", 1), "trunks[1].outbound.register_expires"},
		{strings.Replace(tr, "%s", "from_number: alice", 1), "trunks[1].outbound.from_number"},
		{strings.Replace(tr, "%s", "numbers: ['+1', 'x*']", 1), "trunks[1].outbound.numbers[1]"},
		{strings.Replace(tr, "%s", "options_interval: 10ms", 1), "trunks[1].outbound.options_interval"},
		{strings.Replace(tr, "%s", "invite_timeout: 1ms", 1), "trunks[1].outbound.invite_timeout"},
		{strings.Replace(tr, "%s", "prio: 1", 1), "prio"},
		{"trunks: [ { name: c, srtp: require, outbound: { uri: 'sip:carrier.example' } } ]", "trunks[0].srtp"},
		{"trunks: [ { name: c, srtp: require, outbound: { uri: 'sip:carrier.example;transport=tcp' } } ]", "trunks[0].srtp"},
		{"trunks: [ { name: a, allow: [127.0.0.1], headers_to_attributes: { 'X Bad': a } } ]", "trunks[0].headers_to_attributes"},
		{"trunks: [ { name: a, allow: [127.0.0.1], headers_to_attributes: { 'X-Ok': 'no spaces' } } ]", "trunks[0].headers_to_attributes"},
		{"webhooks: [ { url: 'ftp://x', secret: '0123456789abcdef' } ]", "webhooks[0].url"},
		{"webhooks: [ { url: 'http://x', secret: 'short' } ]", "webhooks[0].secret"},
		{"webhooks: [ { url: 'http://x', secret: '0123456789abcdef', events: [call_ended, tea_time] } ]", "webhooks[0].events[1]"},
	} {
		_, err := Load(write(t, tc.yaml), nil)
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: error %v does not name %q", tc.yaml, err, tc.key)
		}
	}
}
