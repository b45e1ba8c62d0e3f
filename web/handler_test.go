package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// response is what a test needs of a recorded response.
type response struct {
	StatusCode int
	Header     http.Header
	Body       string
}

func get(t *testing.T, h http.Handler, target string, header ...string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{StatusCode: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
}

func body(_ *testing.T, res response) string { return res.Body }

// The click-to-call page carries the SIP domain and WebSocket listeners in
// data attributes (no inline script, so the CSP stays strict).
func TestCallPageConfig(t *testing.T) {
	h := Handler(Config{SIPDomain: "conf.example.com", SIPWebSockets: []string{"ws:5066", "wss:7443"}})
	res := get(t, h, "/call")
	if !strings.Contains(res.Body, `data-domain="conf.example.com" data-ws="ws:5066 wss:7443"`) {
		t.Errorf("page:\n%s", res.Body)
	}
	if strings.Contains(res.Body, "<script>") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Error("inline script or weaker CSP")
	}
}

func TestRoutes(t *testing.T) {
	h := Handler(Config{Title: "TestBridge"})
	tests := []struct {
		path   string
		status int
		ctype  string
		has    string
	}{
		{"/", 200, "text/html; charset=utf-8", "<form"},
		{"/r/demo", 200, "text/html; charset=utf-8", `data-room="demo"`},
		{"/r/demo?name=a&token=x", 200, "text/html; charset=utf-8", "room.js"},
		{"/admin", 200, "text/html; charset=utf-8", "admin.js"},
		{"/call", 200, "text/html; charset=utf-8", "call.js"},
		{"/static/call.js", 200, "text/javascript; charset=utf-8", "sendDTMF"},
		{"/static/vendor/jssip.js", 200, "text/javascript; charset=utf-8", "JsSIP"},
		{"/static/vendor/jssip.licenses.txt", 200, "text/plain; charset=utf-8", "==== jssip 3.13.8 (MIT) ===="},
		{"/static/room.js", 200, "text/javascript; charset=utf-8", "RTCPeerConnection"},
		{"/static/signal.js", 200, "text/javascript; charset=utf-8", "WebSocket"},
		{"/static/admin.js", 200, "text/javascript; charset=utf-8", "sessionStorage"},
		{"/static/style.css", 200, "text/css; charset=utf-8", ".tile"},
		{"/static/nope.js", 404, "", ""},
		{"/static/", 404, "", ""},
		{"/static/0123456789ab/", 404, "", ""},
		{"/static/pages/room.html", 404, "", ""},
		{"/pages/room.html", 404, "", ""},
		{"/r/", 404, "", ""},
		{"/r/a/b", 404, "", ""},
		{"/unknown", 404, "", ""},
		{"/v1/rooms", 404, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res := get(t, h, tc.path)
			b := body(t, res)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.ctype != "" && res.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tc.ctype)
			}
			if !strings.Contains(b, tc.has) {
				t.Errorf("body does not contain %q", tc.has)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("missing nosniff")
			}
		})
	}
}

func TestTitleAndEscaping(t *testing.T) {
	h := Handler(Config{Title: "Acme <Bridge>"})
	b := body(t, get(t, h, `/r/%3Cscript%3E"x`))
	if strings.Contains(b, "<script>\"x") || strings.Contains(b, "<Bridge>") {
		t.Fatalf("unescaped input in page:\n%s", b)
	}
	if !strings.Contains(b, "Acme &lt;Bridge&gt;") {
		t.Error("title missing")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := Handler(Config{})
	req := httptest.NewRequest(http.MethodPost, "/admin", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /admin: %d", rec.Code)
	}
}

func TestLandingRedirect(t *testing.T) {
	res := get(t, Handler(Config{}), "/?room=my+room&name=Al")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d", res.StatusCode)
	}
	if loc := res.Header.Get("Location"); loc != "/r/my%20room?name=Al" {
		t.Fatalf("Location %q", loc)
	}
}

// Pages must link assets under the current version so that the immutable
// cache is safe, and every linked asset must exist.
func TestVersionedAssets(t *testing.T) {
	h := Handler(Config{})
	page := body(t, get(t, h, "/r/demo"))
	links := regexp.MustCompile(`/static/([0-9a-f]{12})/([a-z.]+)`).FindAllStringSubmatch(page, -1)
	if len(links) < 2 {
		t.Fatalf("want versioned css and js links, got %v", links)
	}
	for _, l := range links {
		res := get(t, h, l[0])
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", l[0], res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q", l[0], cc)
		}
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("%s: no ETag", l[0])
		}
		if res := get(t, h, "/static/"+l[2], "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: %d", l[2], res.StatusCode)
		}
	}
	// An older version still gets the file, but not as immutable.
	res := get(t, h, "/static/000000000000/room.js")
	if res.StatusCode != 200 || strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("old version: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}

// Every relative import in a module must name an embedded file, since a
// typo would only show up in a browser.
func TestModuleImportsResolve(t *testing.T) {
	a := newAssets()
	re := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';`)
	for name, f := range a.files {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(string(f.body), -1) {
			if _, ok := a.files[m[1]]; !ok {
				t.Errorf("%s imports missing %s", name, m[1])
			}
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	res := get(t, Handler(Config{}), "/r/demo")
	if res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("room page must not leak its token through Referer")
	}
	if !strings.Contains(res.Header.Get("Content-Security-Policy"), "connect-src 'self' ws: wss:") {
		t.Errorf("CSP %q", res.Header.Get("Content-Security-Policy"))
	}
}

// A room hosted by another node (Config.RoomURL) redirects its page there
// with 307, keeping the query (name, token); other rooms' pages render.
func TestRoomOnAnotherNodeRedirects(t *testing.T) {
	h := Handler(Config{RoomURL: func(_ context.Context, room string) (string, bool) {
		return "https://gw2.example.com/", room == "busy room"
	}})
	res := get(t, h, "/r/busy%20room?name=Al&token=abc")
	if res.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("status %d", res.StatusCode)
	}
	if loc := res.Header.Get("Location"); loc != "https://gw2.example.com/r/busy%20room?name=Al&token=abc" {
		t.Errorf("Location %q", loc)
	}
	if res := get(t, h, "/r/quiet?name=Al"); res.StatusCode != http.StatusOK {
		t.Errorf("a room hosted nowhere else: status %d", res.StatusCode)
	}
}
