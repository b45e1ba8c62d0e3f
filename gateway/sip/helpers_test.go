package sip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func TestMain(m *testing.M) {
	// Short SIP timers keep retransmission and timeout tests fast:
	// 64*T1 = 3.2 s.
	sip.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	if os.Getenv("SIP_DEBUG") == "" {
		sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}

const (
	testOffer  = "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n"
	testAnswer = "v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=sendrecv\r\n"
	testHold   = "v=0\r\no=peer 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendonly\r\n"
)

func testLogger() *slog.Logger {
	if os.Getenv("SIP_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// fixture is a server serving UDP, TCP and TLS on loopback sockets passed in.
type fixture struct {
	srv           *Server
	udp, tcp, tls string // host:port
	clientTLS     *tls.Config
}

func newFixture(t *testing.T, cfg Config, h func(*IncomingCall)) *fixture {
	t.Helper()
	serverTLS, clientTLS := testTLS(t)
	if cfg.Trunks == nil {
		cfg.Trunks = []Trunk{{Name: "local", Allow: loopback}}
	}
	cfg.Logger = testLogger()
	cfg.TLSConfig = serverTLS
	cfg.Handler = CallHandlerFunc(h)
	if cfg.Domain == "" {
		cfg.Domain = "gw.test"
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, udp: pc.LocalAddr().String(), tcp: tl.Addr().String(), tls: sl.Addr().String(), clientTLS: clientTLS}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); _ = srv.ServeUDP(pc) }()
	go func() { defer wg.Done(); _ = srv.ServeTCP(tl) }()
	go func() { defer wg.Done(); _ = srv.ServeTLS(sl) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	})
	return f
}

func (f *fixture) addr(network string) string {
	switch network {
	case "tcp":
		return f.tcp
	case "tls":
		return f.tls
	}
	return f.udp
}

// uri is a Request-URI for user at the fixture over network.
func (f *fixture) uri(user, network string) sip.Uri {
	host, port := splitHostPort(f.addr(network))
	u := sip.Uri{Scheme: "sip", User: user, Host: host, Port: port}
	if network != "udp" {
		u.UriParams = sip.HeaderParams{{K: "transport", V: network}}
	}
	return u
}

func splitHostPort(a string) (string, int) {
	h, p, _ := net.SplitHostPort(a)
	n, _ := strconv.Atoi(p)
	return h, n
}

// peer is a sipgo user agent that calls the fixture.
type peer struct {
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	dc      *sipgo.DialogClientCache
	contact sip.ContactHeader
	byes    chan *sip.Request
	updates chan *sip.Request
}

func newPeer(t *testing.T, network string, clientTLS *tls.Config) *peer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("peer"), sipgo.WithUserAgenTLSConfig(clientTLS))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	p := &peer{ua: ua, srv: srv, byes: make(chan *sip.Request, 8), updates: make(chan *sip.Request, 8)}
	var opts []sipgo.ClientOption
	var done chan struct{}
	var closer func()
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done = make(chan struct{})
		go func() { defer close(done); _ = srv.ServeUDP(pc) }()
		opts = append(opts, sipgo.WithClientConnectionAddr(pc.LocalAddr().String()))
		// The client sends from the listener once sipgo has pooled it.
		for i := 0; ; i++ {
			if c, err := ua.TransportLayer().GetConnection("udp", pc.LocalAddr().String()); err == nil {
				_, _ = c.TryClose()
				break
			}
			if i > 200 {
				t.Fatal("peer UDP listener not ready")
			}
			time.Sleep(5 * time.Millisecond)
		}
		host, port := splitHostPort(pc.LocalAddr().String())
		p.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "peer", Host: host, Port: port}}
		closer = func() { _ = pc.Close() }
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done = make(chan struct{})
		go func() { defer close(done); _ = srv.ServeTCP(l) }()
		host, port := splitHostPort(l.Addr().String())
		p.contact = sip.ContactHeader{Address: sip.Uri{
			Scheme: "sip", User: "peer", Host: host, Port: port,
			UriParams: sip.HeaderParams{{K: "transport", V: network}},
		}}
		closer = func() { _ = l.Close() }
	}
	opts = append(opts, sipgo.WithClientHostname("127.0.0.1"))
	p.cli, err = sipgo.NewClient(ua, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p.dc = sipgo.NewDialogClientCache(p.cli, p.contact)
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.dc.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
		select {
		case p.byes <- req:
		default:
		}
	})
	srv.OnUpdate(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		select {
		case p.updates <- req:
		default:
		}
	})
	t.Cleanup(func() {
		closer()
		_ = ua.Close()
		<-done
	})
	return p
}

// call sends an INVITE and waits for the final answer.
func (p *peer) call(ctx context.Context, t *testing.T, to sip.Uri, body []byte, opts sipgo.AnswerOptions, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	t.Helper()
	if body != nil {
		hdrs = append(hdrs, sip.NewHeader("Content-Type", "application/sdp"))
	}
	sess, err := p.dc.Invite(ctx, to, body, hdrs...)
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	return sess, sess.WaitAnswer(ctx, opts)
}

// statusOf returns the status code of a failed WaitAnswer.
func statusOf(err error) int {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res.StatusCode
	}
	return 0
}

func responseOf(err error) *sip.Response {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res
	}
	return nil
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// testTLS makes a self-signed certificate for 127.0.0.1.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
