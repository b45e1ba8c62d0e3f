package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/roombridge/roombridge/gateway/store"
)

func TestAuth(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		desc, header string
		code         int
	}{
		{"no header", "-", 401},
		{"wrong key", "Bearer nope", 401},
		{"key prefix", "Bearer test-key", 401},
		{"key with suffix", "Bearer " + testKey + "x", 401},
		{"basic scheme", "Basic " + testKey, 401},
		{"no scheme", testKey, 401},
		{"empty bearer", "Bearer ", 401},
		{"right key", "Bearer " + testKey, 200},
		{"scheme case-insensitive", "bearer " + testKey, 200},
		{"second key", "Bearer other-key", 200},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r := h.do(req{method: "GET", path: "/v1/rooms", key: tt.header})
			if tt.code == 200 {
				r.expect(t, 200, nil)
				return
			}
			r.expectError(t, 401, "")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// Every route needs the key, including ones that would fail anyway.
	for _, rt := range h.srv.routes() {
		if rt.public {
			continue
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{name}", "standup", "{id}", "p1").Replace(path)
		h.do(req{method: method, path: path, body: `{}`, key: "-"}).expectError(t, 401, "")
	}
	// Mutations without a key change nothing.
	var list struct{ Rooms []roomJSON }
	h.do(req{method: "GET", path: "/v1/rooms"}).expect(t, 200, &list)
	if len(list.Rooms) != 0 {
		t.Errorf("unauthenticated POST created %+v", list.Rooms)
	}
}

func TestRoutingErrors(t *testing.T) {
	h := newHarness(t)
	h.createRoom(map[string]any{"name": "standup"})
	tests := []struct {
		desc, method, path, key string
		code                    int
		allow                   string
	}{
		{"unknown path", "GET", "/v1/nothing", "", 404, ""},
		{"trailing slash", "GET", "/v1/rooms/", "", 404, ""},
		{"too deep", "GET", "/v1/rooms/standup/participants/p1/mute/x", "", 404, ""},
		{"unknown path without key", "GET", "/v1/nothing", "-", 401, ""},
		{"PUT rooms", "PUT", "/v1/rooms", "", 405, "GET, HEAD, POST"},
		{"POST room", "POST", "/v1/rooms/standup", "", 405, "DELETE, GET, HEAD, PATCH"},
		{"GET mute", "GET", "/v1/rooms/standup/participants/p1/mute", "", 405, "POST"},
		{"GET tokens", "GET", "/v1/rooms/standup/tokens", "", 405, "POST"},
		{"DELETE participants", "DELETE", "/v1/rooms/standup/participants", "", 405, "GET, HEAD"},
		{"wrong method without key", "PUT", "/v1/rooms", "-", 401, ""},
		{"POST openapi needs no key", "POST", "/v1/openapi.json", "-", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r := h.do(req{method: tt.method, path: tt.path, key: tt.key})
			r.expectError(t, tt.code, "")
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestNewChecksConfig(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tests := []struct {
		desc string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{Keys: []string{"k"}, Store: st}, true},
		{"no store", Config{Keys: []string{"k"}}, false},
		{"no keys", Config{Store: st}, false},
		{"empty key", Config{Keys: []string{"k", " "}, Store: st}, false},
		{"bad public url", Config{Keys: []string{"k"}, Store: st, PublicURL: "ftp://x"}, false},
		{"relative public url", Config{Keys: []string{"k"}, Store: st, PublicURL: "/meet"}, false},
		{"https public url", Config{Keys: []string{"k"}, Store: st, PublicURL: "https://meet.example.com/base/"}, true},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); (err == nil) != tt.ok {
			t.Errorf("%s: New = %v, want ok=%v", tt.desc, err, tt.ok)
		}
	}
}

func TestStatusOf(t *testing.T) {
	// Errors nobody classified are server errors and say nothing inside.
	h := newHarness(t)
	h.store.Close()
	e := h.do(req{method: "GET", path: "/v1/rooms"}).expectError(t, http.StatusServiceUnavailable, "")
	if strings.Contains(e.Error, "store") {
		t.Errorf("leaks internals: %q", e.Error)
	}
	if got := statusOf(errors.New("surprise")); got != 500 {
		t.Errorf("statusOf(unknown) = %d", got)
	}
}
