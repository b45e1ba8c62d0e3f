package test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/chrome"
)

// fakeAPI is just enough of the room API for the admin page: one room,
// participants as a bare array (the page accepts both shapes), mute and
// kick recorded, and a JSON error for video mute.
type fakeAPI struct {
	mu    sync.Mutex
	names []string
	calls []string
}

const fakeKey = "test-key-123"

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+fakeKey {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid API key"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	if r.Method != http.MethodGet {
		f.calls = append(f.calls, r.Method+" "+path+" "+string(body))
	}
	switch {
	case r.Method == http.MethodGet && path == "/rooms":
		_, _ = io.WriteString(w, `{"rooms":[{"name":"demo","aliases":["4711"]}]}`)
	case r.Method == http.MethodGet && path == "/rooms/demo/participants":
		list := []map[string]any{}
		for _, n := range f.names {
			list = append(list, map[string]any{
				"id": "id-" + n, "name": n, "kind": "webrtc",
				"tracks": []map[string]string{{"kind": "audio"}}, "audio_muted": false, "video_muted": false,
				"joined_at": "2026-01-02T03:04:05Z",
			})
		}
		_ = json.NewEncoder(w).Encode(list)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/mute"):
		if strings.Contains(string(body), "video") {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":"participant has no video","field":"video"}`)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "/rooms/demo/participants/id-"):
		n := strings.TrimPrefix(path, "/rooms/demo/participants/id-")
		f.names = slices.DeleteFunc(f.names, func(s string) bool { return s == n })
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"not found"}`)
	}
}

func (f *fakeAPI) called(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.calls, s)
}

// TestAdminPage drives the dashboard against a fake API: login, listing,
// mute, a JSON error shown as written, kick, and a rejected key.
func TestAdminPage(t *testing.T) {
	b := launchBrowser(t)
	api := &fakeAPI{names: []string{"alice", "bob"}}
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/", webClient())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p, err := b.NewPage(ctx, "admin", srv.URL+"/admin")
	if err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, p, `!document.getElementById('login').hidden`)
	login := func(key string) {
		t.Helper()
		mustEval(ctx, t, p, `(() => { const f = document.getElementById('login');
			f.elements.key.value = `+jsString(key)+`; f.requestSubmit(); })()`)
	}
	login(fakeKey)
	wait(ctx, t, p, `[...document.querySelectorAll('.room-card[data-room="demo"] .pname')].map(e => e.textContent).join() === 'alice,bob'`)
	if !strings.Contains(evalString(ctx, t, p, `sessionStorage.getItem('roombridge.apiKey')`), fakeKey) {
		t.Error("key not kept in sessionStorage")
	}

	mustEval(ctx, t, p, `document.querySelector('tr[data-id="id-alice"] .mute-audio').click()`)
	waitFor(ctx, t, func() bool { return api.called(`POST /rooms/demo/participants/id-alice/mute {"audio":true}`) })

	mustEval(ctx, t, p, `document.querySelector('tr[data-id="id-alice"] .mute-video').click()`)
	wait(ctx, t, p, `document.getElementById('notice').textContent === 'participant has no video (field: video)'`)

	// Kick needs a second click.
	mustEval(ctx, t, p, `document.querySelector('tr[data-id="id-bob"] .kick').click()`)
	if api.called("DELETE /rooms/demo/participants/id-bob ") {
		t.Fatal("kicked on the first click")
	}
	mustEval(ctx, t, p, `document.querySelector('tr[data-id="id-bob"] .kick').click()`)
	waitFor(ctx, t, func() bool { return api.called("DELETE /rooms/demo/participants/id-bob ") })
	wait(ctx, t, p, `!document.querySelector('tr[data-id="id-bob"]') && window.roombridgeAdmin.participants.demo.length === 1`)

	mustEval(ctx, t, p, `document.getElementById('logout').click()`)
	login("wrong-key")
	wait(ctx, t, p, `!document.getElementById('login').hidden &&
		document.getElementById('notice').textContent.includes('invalid API key') &&
		sessionStorage.getItem('roombridge.apiKey') === null`)
}

func evalString(ctx context.Context, t *testing.T, p *chrome.Page, js string) string {
	t.Helper()
	var s string
	if err := p.EvalInto(ctx, js, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func waitFor(ctx context.Context, t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met:", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
