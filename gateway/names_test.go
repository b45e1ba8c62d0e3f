package gateway

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/sip"
)

func TestCallerName(t *testing.T) {
	m := NumberMask{Prefix: 5, Suffix: 4}
	for _, tc := range []struct {
		from sip.Party
		want string
	}{
		{sip.Party{User: "+15551230100"}, "+1555***0100"},
		{sip.Party{DisplayName: "+15551230100", User: "+15551230100"}, "+1555***0100"},
		{sip.Party{DisplayName: "Board Room", User: "+15551230100"}, "Board Room"},
		{sip.Party{User: "alice"}, "alice"},
		{sip.Party{User: "1234"}, "1234"}, // too short to mask
		{sip.Party{}, "phone"},
		{sip.Party{DisplayName: " \x07", User: "bob"}, "bob"},
	} {
		if got := callerName(tc.from, m); got != tc.want {
			t.Errorf("callerName(%+v) = %q, want %q", tc.from, got, tc.want)
		}
	}
	if got := (NumberMask{}).Apply("+15551230100"); got != "+15551230100" {
		t.Errorf("zero mask: %q", got)
	}
}

func TestDialInMatch(t *testing.T) {
	g := &Gateway{cfg: Config{DialInNumbers: []string{"+1 555 0100"}}}
	for user, want := range map[string]bool{"15550100": true, "+15550100": true, "+1555-0100": true, "15550101": false, "demo": false, "": false} {
		if got := g.isDialIn(user); got != want {
			t.Errorf("isDialIn(%q) = %v", user, got)
		}
	}
}

func TestLegIdentity(t *testing.T) {
	a, b := legIdentity("call-1@host"), legIdentity("call-2@host")
	if a == b || !strings.HasPrefix(a, "sip_") || len(a) != 20 || legIdentity("call-1@host") != a {
		t.Errorf("identities %q %q", a, b)
	}
}

func TestLegQualityJSON(t *testing.T) {
	b, err := json.Marshal(LegQuality{Codec: "PCMU", Jitter: 2500 * time.Microsecond, RTT: 40 * time.Millisecond, Duration: 90 * time.Second, MOS: 4.3})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"codec":"PCMU"`, `"jitter_ms":2.5`, `"rtt_ms":40`, `"duration_s":90`, `"mos":4.3`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}
