package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/store"
)

func TestSIPCredentialsMintCheck(t *testing.T) {
	c := NewSIPCredentials([]byte("a secret of sixteen+"), 10*time.Minute)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.now = func() time.Time { return now }
	user, pass, exp := c.Mint("alice", 0)
	if !exp.Equal(now.Add(10*time.Minute)) || !strings.HasPrefix(user, "alice.1767323645.") || len(pass) != sipPasswordLen {
		t.Fatalf("Mint = %q %q %v", user, pass, exp)
	}
	if got, ok := c.Password(user); !ok || got != pass {
		t.Fatalf("Password = %q %v", got, ok)
	}
	if u2, p2, _ := c.Mint("alice", 0); u2 == user || p2 == pass {
		t.Error("two mints gave the same account")
	}
	if u, _, _ := c.Mint("", time.Hour); !strings.HasPrefix(u, "web.") {
		t.Errorf("default name: %q", u)
	}
	c.now = func() time.Time { return exp }
	if _, ok := c.Password(user); ok {
		t.Error("accepted at expiry")
	}
	c.now = func() time.Time { return now }
	other := NewSIPCredentials([]byte("another secret 16+"), 0)
	other.now = c.now
	if p, ok := other.Password(user); !ok || p == pass {
		t.Errorf("another secret: %q %v; want a different password", p, ok)
	}
	// Tampering with the expiry changes the password the gateway expects.
	parts := strings.Split(user, ".")
	later := parts[0] + ".1867323645." + parts[2]
	if p, ok := c.Password(later); ok && p == pass {
		t.Error("a later expiry keeps the password")
	}
	for _, bad := range []string{
		"", "alice", "alice.1767323645", "Alice.1767323645.abcdefgh", "alice.01767323645.abcdefgh",
		"alice.1767323645.abcdefg", "alice.1767323645.ABCDEFGH", "alice.x.abcdefgh", "alice.1767323645.abcdefgh.x",
	} {
		if _, ok := c.Password(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzSIPCredentialPassword(f *testing.F) {
	c := NewSIPCredentials([]byte("a secret of sixteen+"), time.Hour)
	u, _, _ := c.Mint("seed", 0)
	for _, s := range []string{u, "web.1.abcdefgh", "a..b", "x.99999999999999999999.abcdefgh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, username string) {
		if p, ok := c.Password(username); ok && (len(p) != sipPasswordLen || !strings.Contains(username, ".")) {
			t.Fatalf("%q: %q", username, p)
		}
	})
}

func TestCreateSIPCredential(t *testing.T) {
	h := newHarness(t)
	var got sipCredentialResponse
	h.do(req{method: "POST", path: "/v1/sip-credentials", body: map[string]any{"name": "alice", "ttl_seconds": 600}}).expect(t, http.StatusCreated, &got)
	if !strings.HasPrefix(got.Username, "alice.") || got.AOR != "sip:"+got.Username+"@conf.example.com" ||
		time.Until(got.ExpiresAt) > 601*time.Second || time.Until(got.ExpiresAt) < 590*time.Second {
		t.Fatalf("%+v", got)
	}
	if p, ok := h.srv.cfg.SIPCredentials.Password(got.Username); !ok || p != got.Password {
		t.Error("the registrar's check does not accept the minted account")
	}
	h.do(req{method: "POST", path: "/v1/sip-credentials"}).expect(t, http.StatusCreated, &got)
	if !strings.HasPrefix(got.Username, "web.") {
		t.Errorf("no body: %+v", got)
	}
	h.do(req{method: "POST", path: "/v1/sip-credentials", body: map[string]any{"name": "Alice Smith"}}).expectError(t, 400, "name")
	h.do(req{method: "POST", path: "/v1/sip-credentials", body: map[string]any{"ttl_seconds": 90000}}).expectError(t, 400, "ttl_seconds")
	h.do(req{method: "POST", path: "/v1/sip-credentials", body: map[string]any{"password": "x"}}).expectError(t, 400, "password")
	h.do(req{method: "POST", path: "/v1/sip-credentials", key: "-"}).expectError(t, 401, "")
}

func TestListRegistrations(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	exp := time.Now().Add(10 * time.Minute).Truncate(time.Millisecond)
	for _, r := range []store.Registration{
		{
			AOR: "sip:alice@conf.example.com", Contact: "sip:k1@x.invalid;transport=ws", Username: "alice", Transport: "wss",
			Source: "192.0.2.7:50123", UserAgent: "JsSIP 3.13.8", CallID: "c", CSeq: 2, ExpiresAt: exp,
		},
		{AOR: "sip:bob@conf.example.com", Contact: "sip:bob@192.0.2.9", Username: "bob", Transport: "udp", Source: "192.0.2.9:5060", ExpiresAt: exp},
	} {
		if err := h.store.PutRegistration(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var list struct {
		Registrations []registrationJSON `json:"registrations"`
	}
	h.do(req{method: "GET", path: "/v1/registrations"}).expect(t, 200, &list)
	if len(list.Registrations) != 2 || list.Registrations[0].Transport != "wss" || list.Registrations[0].UserAgent != "JsSIP 3.13.8" ||
		!list.Registrations[0].ExpiresAt.Equal(exp) || list.Registrations[1].AOR != "sip:bob@conf.example.com" {
		t.Fatalf("%+v", list)
	}
	h.do(req{method: "GET", path: "/v1/registrations?user=bob"}).expect(t, 200, &list)
	if len(list.Registrations) != 1 || list.Registrations[0].Username != "bob" {
		t.Fatalf("?user=bob: %+v", list)
	}
	h.do(req{method: "GET", path: "/v1/registrations?user=nobody"}).expect(t, 200, &list)
	if list.Registrations == nil || len(list.Registrations) != 0 {
		t.Fatalf("?user=nobody: %+v", list)
	}
	h.do(req{method: "GET", path: "/v1/registrations?user=a@b"}).expectError(t, 400, "user")
	h.do(req{method: "GET", path: "/v1/registrations", key: "-"}).expectError(t, 401, "")
}
