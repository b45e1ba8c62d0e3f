package outbound_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/roombridge/roombridge/gateway/sip/outbound"
)

// FuzzParseDestination feeds the "to" of dial requests: any input either
// parses to exactly one of a number or a URI with a host, or fails with
// ErrInvalidDestination; nothing panics.
func FuzzParseDestination(f *testing.F) {
	for _, s := range []string{
		"+15551234567", "+1 (555) 123-4567", "*72#", "sip:room@host.example", "sips:a@b:5061;transport=tls",
		"sip:@", "sip:a@b?x=y", "tel:+1555", "", "sip:a@[::1]:5060", strings.Repeat("9", 40),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := outbound.ParseDestination(s)
		if err != nil {
			if !errors.Is(err, outbound.ErrInvalidDestination) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if (d.Number == "") == (d.URI == nil) {
			t.Fatalf("%q: %+v", s, d)
		}
		if d.URI != nil && d.URI.Host == "" {
			t.Fatalf("%q: URI without host", s)
		}
		if d.Number != "" && strings.ContainsAny(d.Number, " \r\n:@") {
			t.Fatalf("%q: number %q", s, d.Number)
		}
	})
}
