package chrome

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testPage = `<!doctype html><title>t</title><script>
window.answer = 42;
console.log("hello", 7, {a: 1});
</script>`

// recorder collects log lines so tests can assert on forwarding.
type recorder struct {
	mu    sync.Mutex
	lines []string
	t     testing.TB
}

func (r *recorder) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := strings.TrimSpace(strings.ReplaceAll(sprintf(format, args...), "\n", " "))
	r.lines = append(r.lines, line)
	r.t.Log(line)
}

func (r *recorder) has(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func launch(t *testing.T) (*Browser, *recorder) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	if _, err := lookPath(); err != nil {
		t.Skip(err)
	}
	rec := &recorder{t: t}
	return Launch(t, Options{Logf: rec.logf}), rec
}

func TestEvaluate(t *testing.T) {
	b, rec := launch(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(testPage))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := b.NewPage(ctx, "p1", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := p.EvalInto(ctx, "window.answer", &n); err != nil || n != 42 {
		t.Fatalf("answer = %d, %v", n, err)
	}
	var s string
	if err := p.EvalInto(ctx, "new Promise(r => setTimeout(() => r('later'), 50))", &s); err != nil || s != "later" {
		t.Fatalf("promise = %q, %v", s, err)
	}
	var obj struct{ A []int }
	if err := p.EvalInto(ctx, "({A: [1, 2]})", &obj); err != nil || len(obj.A) != 2 {
		t.Fatalf("object = %+v, %v", obj, err)
	}
	if v, err := p.Evaluate(ctx, "undefined"); err != nil || string(v) != "null" {
		t.Fatalf("undefined = %s, %v", v, err)
	}
	if _, err := p.Evaluate(ctx, "throw new Error('boom')"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("throw: %v", err)
	}
	if _, err := p.Evaluate(ctx, "Promise.reject(new Error('nope'))"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("reject: %v", err)
	}
	if !rec.has(`[p1] console.log: hello 7`) {
		t.Error("console.log not forwarded")
	}
	if _, err := p.Evaluate(ctx, "setTimeout(() => { throw new Error('async-bang') }, 0)"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	defer wcancel()
	if err := p.WaitFor(wctx, "window.answer === 42", 0); err != nil {
		t.Fatal(err)
	}
	for !rec.has("async-bang") {
		select {
		case <-wctx.Done():
			t.Fatal("uncaught exception not forwarded")
		case <-time.After(20 * time.Millisecond):
		}
	}
	short, scancel := context.WithTimeout(ctx, time.Second)
	defer scancel()
	if err := p.WaitFor(short, "window.answer === 1", 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "false") {
		t.Fatalf("WaitFor on false: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestFakeMedia checks the flags that the browser test relies on: fake
// devices without a prompt, and loopback ICE between two PeerConnections.
func TestFakeMedia(t *testing.T) {
	b, _ := launch(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>m</title>`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := b.NewPage(ctx, "media", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	err = p.EvalInto(ctx, `navigator.mediaDevices.getUserMedia({audio: true, video: true})
		.then(s => { window.s = s; return s.getTracks().map(t => t.kind).sort(); })`, &kinds)
	if err != nil || strings.Join(kinds, ",") != "audio,video" {
		t.Fatalf("getUserMedia: %v %v", kinds, err)
	}
	_, err = p.Evaluate(ctx, `(async () => {
		const a = new RTCPeerConnection(), b = new RTCPeerConnection();
		a.onicecandidate = e => e.candidate && b.addIceCandidate(e.candidate);
		b.onicecandidate = e => e.candidate && a.addIceCandidate(e.candidate);
		for (const t of window.s.getTracks()) a.addTrack(t, window.s);
		await a.setLocalDescription(); await b.setRemoteDescription(a.localDescription);
		await b.setLocalDescription(); await a.setRemoteDescription(b.localDescription);
		window.rx = b;
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	err = p.WaitFor(ctx, `window.rx.getStats().then(r => [...r.values()].some(s =>
		s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 5))`, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
}

func TestBrowserClosedCalls(t *testing.T) {
	b, _ := launch(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.NewPage(context.Background(), "x", ""); err == nil {
		t.Fatal("NewPage after Close succeeded")
	}
	if err := b.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
