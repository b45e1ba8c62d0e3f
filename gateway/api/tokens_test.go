package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokensMintVerify(t *testing.T) {
	tk := NewTokens([]byte("a secret of sixteen+"), 10*time.Minute)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tk.now = func() time.Time { return now }

	for _, tc := range []struct{ room, name string }{
		{"standup", "alice"},
		{"r", ""},
		{"x", "Zoë 🎧 ünïcode, with spaces & =?;."},
	} {
		tok, exp := tk.Mint(tc.room, tc.name, 0)
		if !exp.Equal(now.Add(10 * time.Minute)) {
			t.Errorf("default expiry %v", exp)
		}
		if strings.ContainsAny(tok, "+/= ") {
			t.Errorf("token %q is not URL-safe", tok)
		}
		room, name, err := tk.Verify(tok)
		if err != nil || room != tc.room || name != tc.name {
			t.Errorf("Verify = %q %q %v, want %q %q", room, name, err, tc.room, tc.name)
		}
	}

	tok, exp := tk.Mint("standup", "alice", time.Hour)
	if !exp.Equal(now.Add(time.Hour)) {
		t.Errorf("expiry %v", exp)
	}
	tk.now = func() time.Time { return exp.Add(-time.Second) }
	if _, _, err := tk.Verify(tok); err != nil {
		t.Errorf("one second before expiry: %v", err)
	}
	tk.now = func() time.Time { return exp }
	if _, _, err := tk.Verify(tok); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("at expiry: %v, want ErrTokenExpired", err)
	}
	tk.now = func() time.Time { return now }

	// Another secret does not accept it.
	other := NewTokens([]byte("another secret, 16+"), time.Hour)
	if _, _, err := other.Verify(tok); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("other secret: %v", err)
	}
	// Neither does a random-secret instance.
	if _, _, err := NewTokens(nil, 0).Verify(tok); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("random secret: %v", err)
	}
}

func TestTokensTamper(t *testing.T) {
	tk := NewTokens([]byte("a secret of sixteen+"), time.Hour)
	tok, _ := tk.Mint("standup", "alice", 0)
	// Flipping any single character breaks it.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(tok) {
		if tok[i] == '.' {
			continue
		}
		b := []byte(tok)
		b[i] = alphabet[(strings.IndexByte(alphabet, b[i])+1)%len(alphabet)]
		if room, _, err := tk.Verify(string(b)); err == nil {
			t.Fatalf("tampered token at %d accepted (room %q)", i, room)
		}
	}
	// A payload re-signed for another room under the wrong key, swapped
	// parts, and plain garbage.
	p, m, _ := strings.Cut(tok, ".")
	forged, _ := NewTokens([]byte("attacker's own secret"), time.Hour).Mint("boardroom", "alice", 0)
	fp, _, _ := strings.Cut(forged, ".")
	for _, bad := range []string{
		"", ".", p, p + ".", "." + m, m + "." + p, fp + "." + m, tok + ".x", tok + "A",
		p + "=." + m, strings.Repeat("A", maxTokenLen+1),
	} {
		if _, _, err := tk.Verify(bad); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify(%.40q) = %v, want ErrTokenInvalid", bad, err)
		}
	}
}

func TestParsePayload(t *testing.T) {
	for _, p := range [][]byte{
		nil,
		{tokenVersion},
		{2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, // unknown version
		{tokenVersion, 0, 0, 0, 0, 0, 0, 0, 1, 5},       // room length past the end
		{tokenVersion, 0, 0, 0, 0, 0, 0, 0, 1, 0},       // no name
		{tokenVersion, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 9}, // trailing byte
		{tokenVersion, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		if _, _, _, ok := parsePayload(p); ok {
			t.Errorf("parsePayload(%v) accepted", p)
		}
	}
}

func TestTokenEndpoint(t *testing.T) {
	h := newHarness(t)
	h.createRoom(map[string]any{"name": "standup"})
	before := time.Now()

	var got tokenResponse
	h.do(req{method: "POST", path: "/v1/rooms/standup/tokens", body: `{"name":"alice","ttl_seconds":3600}`}).expect(t, 201, &got)
	if d := got.ExpiresAt.Sub(before); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires_at %v, %v from now", got.ExpiresAt, d)
	}
	room, name, err := h.tokens.Verify(got.Token)
	if err != nil || room != "standup" || name != "alice" {
		t.Errorf("Verify = %q %q %v", room, name, err)
	}
	u, err := url.Parse(got.URL)
	if err != nil || u.Scheme != "http" || u.Host != "127.0.0.1:8080" || u.Path != "/r/standup" ||
		u.Query().Get("name") != "alice" || u.Query().Get("token") != got.Token {
		t.Errorf("url %q", got.URL)
	}
	if !strings.HasPrefix(got.URL, "http://127.0.0.1:8080/r/standup?name=alice&token=") {
		t.Errorf("url %q", got.URL)
	}

	// No body: anonymous, default TTL (one hour in the harness).
	h.do(req{method: "POST", path: "/v1/rooms/standup/tokens"}).expect(t, 201, &got)
	if _, name, err := h.tokens.Verify(got.Token); err != nil || name != "" || strings.Contains(got.URL, "name=") {
		t.Errorf("anonymous token: %q %v, url %q", name, err, got.URL)
	}
	if d := got.ExpiresAt.Sub(before); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("default expires_at %v from now", d)
	}

	tests := []struct {
		desc, path, body string
		code             int
		field            string
	}{
		{"negative ttl", "/v1/rooms/standup/tokens", `{"ttl_seconds":-1}`, 400, "ttl_seconds"},
		{"huge ttl", "/v1/rooms/standup/tokens", `{"ttl_seconds":99999999}`, 400, "ttl_seconds"},
		{"fractional ttl", "/v1/rooms/standup/tokens", `{"ttl_seconds":1.5}`, 400, "ttl_seconds"},
		{"control char in name", "/v1/rooms/standup/tokens", `{"name":"a\u0000b"}`, 400, "name"},
		{"long name", "/v1/rooms/standup/tokens", `{"name":"` + strings.Repeat("x", 129) + `"}`, 400, "name"},
		{"unknown field", "/v1/rooms/standup/tokens", `{"room":"other"}`, 400, "room"},
		{"unknown room", "/v1/rooms/ghost/tokens", `{"name":"alice"}`, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h.do(req{method: "POST", path: tt.path, body: tt.body}).expectError(t, tt.code, tt.field)
		})
	}
}
