package sipws

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/roombridge/roombridge/sipws/sipwstest"
)

func testLogger() *slog.Logger {
	if os.Getenv("SIP_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// stack is a sipgo user agent and server serving one Listener, as the
// gateway's SIP server does: OPTIONS is answered 200, and every request's
// transport and source are recorded.
type stack struct {
	l      *Listener
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	url    string // ws:// or wss:// URL of the listener

	mu     sync.Mutex
	seen   []*sip.Request
	done   chan error
	closed atomic.Bool
}

func newStack(t *testing.T, cfg Config) *stack {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	if cfg.CheckOrigin == nil {
		cfg.CheckOrigin = AllowOrigins("http://page.test")
	}
	l, err := New(ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(testLogger())),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(testLogger())))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{l: l, ua: ua, srv: srv, client: client, done: make(chan error, 1)}
	s.url = "ws://" + ln.Addr().String() + "/sip"
	if cfg.TLS != nil {
		s.url = "wss://" + ln.Addr().String() + "/sip"
	}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		s.mu.Lock()
		s.seen = append(s.seen, req)
		s.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go func() {
		if cfg.TLS != nil {
			s.done <- srv.ServeWSS(l)
		} else {
			s.done <- srv.ServeWS(l)
		}
	}()
	t.Cleanup(func() { s.close(t) })
	return s
}

func (s *stack) close(t *testing.T) {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	_ = s.l.Close()
	_ = s.ua.Close()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Error("sipgo's serve loop did not end after Close")
	}
}

func (s *stack) requests() []*sip.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*sip.Request(nil), s.seen...)
}

// mustDial opens a socket from the page origin the stacks allow.
func mustDial(t *testing.T, url string, tlsCfg *tls.Config) *sipwstest.Client {
	t.Helper()
	return sipwstest.MustDial(t, url, "http://page.test", tlsCfg)
}

// options is an OPTIONS request as a browser would send it (RFC 7118 §5:
// Via and Contact on a ".invalid" host).
func options(branch string) string {
	return "OPTIONS sip:gw.test SIP/2.0\r\n" +
		"Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK" + branch + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"To: <sip:gw.test>\r\n" +
		"From: <sip:alice@gw.test>;tag=" + branch + "\r\n" +
		"Call-ID: " + branch + "@test\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// roundTrip sends msg and returns the next message.
func roundTrip(c *sipwstest.Client, msg string) string {
	c.Send(msg)
	return c.Read()
}

// testTLS returns the TLS configuration of net/http/httptest's test
// server (a certificate for 127.0.0.1) and a client configuration that
// trusts it.
func testTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	return ts.TLS.Clone(), ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
