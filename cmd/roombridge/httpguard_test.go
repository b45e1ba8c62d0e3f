package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Starting on a public address with the example API key (and no token
// secret, no TLS) exits non-zero and names every key to fix; the same
// file on loopback would start.
func TestServeRefusesDefaultSecretsInPublic(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	body := "http: { listen: '0.0.0.0:0' }\nstore: { path: " + filepath.Join(dir, "db") + " }\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"serve", "--config", cfg}, &out, &errb)
	if code == 0 {
		t.Fatal("serve started on 0.0.0.0 with the example API key")
	}
	for _, key := range []string{"api.keys[0]", "http.token_secret", "http.tls"} {
		if !strings.Contains(errb.String(), key) {
			t.Errorf("the error does not name %s:\n%s", key, errb.String())
		}
	}
}

// Behind trusted proxies the client is the last address in
// X-Forwarded-For that is not a proxy; anyone else's header is ignored.
func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	var got string
	h := clientAddr(proxies, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
	for _, tc := range []struct{ remote, xff, want string }{
		{"10.0.0.1:4000", "198.51.100.7", "198.51.100.7:0"},
		{"10.0.0.1:4000", "1.2.3.4, 198.51.100.7, 10.0.0.2", "198.51.100.7:0"},
		{"192.0.2.9:4000", "198.51.100.7", "192.0.2.9:4000"},
		{"10.0.0.1:4000", "", "10.0.0.1:4000"},
		{"10.0.0.1:4000", "garbage", "10.0.0.1:4000"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tc.want {
			t.Errorf("%s via %q: client %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// At max sockets from one address the next gets 429 until one closes;
// other addresses are not affected.
func TestSocketBound(t *testing.T) {
	b, err := newSocketBound(2, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var held sync.WaitGroup
	// A request to /hold stays open (a WebSocket session) until release.
	h := b.wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			held.Done()
			<-release
		}
	}))
	serve := func(path, remote string) int {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	var done sync.WaitGroup
	held.Add(2)
	for range 2 {
		done.Add(1)
		go func() { defer done.Done(); serve("/hold", "192.0.2.1:1000") }()
	}
	held.Wait()
	if code := serve("/", "192.0.2.1:1001"); code != http.StatusTooManyRequests {
		t.Errorf("third socket from one address: %d, want 429", code)
	}
	if code := serve("/", "[2001:db8::1]:1"); code != http.StatusOK {
		t.Errorf("another address: %d, want 200", code)
	}
	close(release)
	done.Wait()
	if code := serve("/", "192.0.2.1:1002"); code != http.StatusOK {
		t.Errorf("after the others closed: %d, want 200", code)
	}
}

func TestMetricsKey(t *testing.T) {
	h := requireBearer("0123456789abcdef", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	for _, tc := range []struct {
		auth string
		code int
	}{{"", 401}, {"Bearer wrong", 401}, {"Basic 0123456789abcdef", 401}, {"Bearer 0123456789abcdef", 200}} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.code {
			t.Errorf("%q: %d, want %d", tc.auth, w.Code, tc.code)
		}
	}
}

// The profiles of metrics.pprof answer only with the metrics key, and
// what they answer is a real profile (gzipped protobuf).
func TestPProfBehindMetricsKey(t *testing.T) {
	const key = "0123456789abcdef"
	srv := httptest.NewServer(requireBearer(key, pprofHandler()))
	defer srv.Close()
	get := func(auth string) (int, []byte) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/debug/pprof/heap", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Errorf("no key: %d, want 401", code)
	}
	code, body := get("Bearer " + key)
	if code != http.StatusOK || len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		t.Errorf("with the key: %d, %d bytes starting %x, want 200 and a gzipped profile", code, len(body), body[:min(len(body), 2)])
	}
}

// FuzzClientAddr: whatever a client or proxy writes in X-Forwarded-For,
// the address the handler sees is a valid address, and a client that is
// not a trusted proxy keeps its own.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{"198.51.100.7", "1.2.3.4, 198.51.100.7, 10.0.0.2", "garbage", "", "[::1]", "2001:db8::1, 10.0.0.3", " , ,"} {
		f.Add(s, true)
	}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	var got string
	h := clientAddr(proxies, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
	f.Fuzz(func(t *testing.T, xff string, viaProxy bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "192.0.2.9:4000"
		if viaProxy {
			r.RemoteAddr = "10.0.0.1:4000"
		}
		r.Header["X-Forwarded-For"] = []string{xff}
		h.ServeHTTP(httptest.NewRecorder(), r)
		ap, err := netip.ParseAddrPort(got)
		if err != nil {
			t.Fatalf("RemoteAddr %q from X-Forwarded-For %q", got, xff)
		}
		if !viaProxy && got != "192.0.2.9:4000" {
			t.Fatalf("a direct client became %s by its own X-Forwarded-For", got)
		}
		if _, ok := boundKey(ap.String()); !ok {
			t.Fatalf("no socket bound key for %s", ap)
		}
	})
}
