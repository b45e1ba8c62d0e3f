package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/store"
)

func TestDrainRoutes(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "rooms.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	since := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	var started int
	state := DrainState{Calls: 3, Sessions: 1}
	srv, err := New(Config{Keys: []string{testKey}, Store: st, Drain: func(start bool) DrainState {
		if start && !state.Draining {
			started++
			state.Draining, state.Since, state.Deadline = true, since, since.Add(2*time.Hour)
		}
		return state
	}})
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, key string) (int, string) {
		req := httptest.NewRequest(method, "/v1/admin/drain", nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	if code, body := call("GET", testKey); code != 200 || !strings.Contains(body, `"draining":false`) || strings.Contains(body, "since") {
		t.Fatalf("GET before: %d %s", code, body)
	}
	if code, _ := call("POST", ""); code != http.StatusUnauthorized || started != 0 {
		t.Fatalf("POST without a key: %d, started %d", code, started)
	}
	for range 2 {
		code, body := call("POST", testKey)
		if code != http.StatusAccepted || !strings.Contains(body, `"draining":true`) ||
			!strings.Contains(body, `"calls":3`) || !strings.Contains(body, `"deadline":"2026-05-04T12:00:00Z"`) {
			t.Fatalf("POST: %d %s", code, body)
		}
	}
	if started != 1 {
		t.Errorf("drain started %d times, want once", started)
	}

	// Without a drain function the route says so.
	srv2, err := New(Config{Keys: []string{testKey}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/v1/admin/drain", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	w := httptest.NewRecorder()
	srv2.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"error"`) {
		t.Fatalf("no drain: %d %s", w.Code, w.Body)
	}
}
