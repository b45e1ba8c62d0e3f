package harness

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestMerge(t *testing.T) {
	base := map[string]any{
		"http":  map[string]any{"listen": "a", "public_rooms": true},
		"rooms": []any{"x"},
		"log":   map[string]any{"level": "debug"},
	}
	got := merge(base, map[string]any{
		"http":  map[string]any{"listen": "b"},
		"rooms": []any{"y", "z"},
		"log":   nil,
	})
	want := map[string]any{
		"http":  map[string]any{"listen": "b", "public_rooms": true},
		"rooms": []any{"y", "z"},
	}
	if a, b := dump(t, got), dump(t, want); a != b {
		t.Fatalf("merge:\n%s\nwant\n%s", a, b)
	}
	if base["http"].(map[string]any)["listen"] != "a" {
		t.Fatal("merge changed its input")
	}
}

func TestRenderConfig(t *testing.T) {
	p := ports{http: 1, sip: 2, rtpMin: 3, rtpMax: 4, rtcMin: 5, rtcMax: 6}
	body, err := renderConfig(baseConfig(p, "/tmp/x.db"),
		map[string]any{"http": map[string]any{"public_rooms": false}},
		[]string{"api: { keys: [other-key-123] }\nrooms:\n  - { name: b }\n"})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	s.applyOverrides(body)
	if s.URL != "http://127.0.0.1:1" || s.SIPAddr != "127.0.0.1:2" || s.APIKey != "other-key-123" {
		t.Fatalf("read back %q %q %q from\n%s", s.URL, s.SIPAddr, s.APIKey, body)
	}
	for _, want := range []string{"public_rooms: false", "name: b", "path: /tmp/x.db", "backend: embedded"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("config lacks %q:\n%s", want, body)
		}
	}
	if _, err := renderConfig(baseConfig(p, ""), nil, []string{"{"}); err == nil {
		t.Error("bad fragment accepted")
	}
}

func TestPorts(t *testing.T) {
	a, err := pickPorts()
	if err != nil {
		t.Fatal(err)
	}
	b, err := pickPorts()
	if err != nil {
		t.Fatal(err)
	}
	if a.rtpMin == b.rtpMin || a.rtcMin == a.rtpMin || a.rtpMax-a.rtpMin != rangeSize-1 {
		t.Fatalf("ranges overlap: %+v %+v", a, b)
	}
}

func TestRequireTool(t *testing.T) {
	if p := RequireTool(t, "sh"); p == "" {
		t.Fatal("sh not found")
	}
	t.Run("missing", func(t *testing.T) {
		if os.Getenv("CI") == "true" {
			t.Skip("would fail by design under CI=true")
		}
		RequireTool(t, "no-such-tool-roombridge")
		t.Fatal("not skipped")
	})
}

// TestStart runs the real gateway; it needs ./cmd/roombridge to build.
func TestStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	s := Start(t, Options{})
	res, err := http.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/healthz: %d", res.StatusCode)
	}
	status, body, err := s.API(context.Background(), "GET", "/v1/rooms", nil)
	if err != nil || status != 200 || !strings.Contains(string(body), "demo") {
		t.Fatalf("GET /v1/rooms: %d %s %v", status, body, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Exited():
	default:
		t.Fatal("not exited after Stop")
	}
}

// TestKillRestart: Kill ends the gateway at once with SIGKILL (the test
// does not fail for it), and Restart brings it back on the same ports
// with the same store: a room made before the kill is still there.
func TestKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	s := Start(t, Options{})
	if err := s.Restart(); err == nil {
		t.Fatal("Restart of a running gateway did not fail")
	}
	status, body, err := s.API(t.Context(), http.MethodPost, "/v1/rooms", map[string]any{"name": "kept"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create: %d %s %v", status, body, err)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Exited():
	default:
		t.Fatal("not exited after Kill")
	}
	if res, err := http.Get(s.URL + "/healthz"); err == nil {
		_ = res.Body.Close()
		t.Fatal("/healthz answers after Kill")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	status, body, err = s.API(t.Context(), http.MethodGet, "/v1/rooms/kept", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("room after the restart: %d %s %v", status, body, err)
	}
	if !strings.Contains(s.Logs(), "--- harness: restart ---") {
		t.Error("the logs do not mark the restart")
	}
}

func dump(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
