package sip

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/internal/leakcheck"
)

func TestListenAndServe(t *testing.T) {
	serverTLS, _ := testTLS(t)
	srv, err := NewServer(Config{
		Logger:    testLogger(),
		Listen:    []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0", "tls://127.0.0.1:0"},
		TLSConfig: serverTLS,
		Trunks:    []Trunk{{Allow: loopback}},
		Handler:   CallHandlerFunc(func(*IncomingCall) {}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	addrs := srv.Addrs()
	if len(addrs) != 3 || addrs[0].Transport != "udp" || addrs[2].Transport != "tls" {
		t.Fatalf("Addrs = %v", addrs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()

	p := newPeer(t, "udp", nil)
	host, port := splitHostPort(addrs[0].Addr.String())
	reqCtx, reqCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer reqCancel()
	res, err := p.cli.Do(reqCtx, sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: host, Port: port}))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %v %v", res, err)
	}
	cancel()
	if err := waitFor(t, served, "Serve"); err != nil {
		t.Errorf("Serve = %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	h := CallHandlerFunc(func(*IncomingCall) {})
	allow := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for name, cfg := range map[string]Config{
		"no handler":     {},
		"bad listen":     {Handler: h, Listen: []string{"sctp://1.2.3.4:5060"}},
		"tls no config":  {Handler: h, Listen: []string{"tls://127.0.0.1:5061"}},
		"no allow":       {Handler: h, Trunks: []Trunk{{Name: "x"}}},
		"bad srtp":       {Handler: h, Trunks: []Trunk{{Allow: allow, SRTP: "maybe"}}},
		"bad number":     {Handler: h, Trunks: []Trunk{{Allow: allow, Numbers: []string{"1*2"}}}},
		"password alone": {Handler: h, Trunks: []Trunk{{Allow: allow, Password: "x"}}},
		"se below min":   {Handler: h, SessionExpires: time.Minute},
		"bad algorithm":  {Handler: h, DigestAlgorithms: []string{"SHA-1"}},
	} {
		if _, err := NewServer(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestStatusCode(t *testing.T) {
	for err, want := range map[error]int{
		ErrNoSuchRoom:                         404,
		ErrNoCommonCodec:                      488,
		ErrSRTPRequired:                       488,
		ErrOverloaded:                         503,
		ErrForbidden:                          403,
		errors.Join(errors.New("x"), ErrBusy): 486,
		errors.New("other"):                   500,
	} {
		if got := StatusCode(err); got != want {
			t.Errorf("StatusCode(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestNegotiateTimer(t *testing.T) {
	tests := []struct {
		name      string
		hdrs      map[string]string
		interval  time.Duration
		refresher string
		err       error
	}{
		{"none, no support", nil, 1800 * time.Second, "uas", nil},
		{"none, support", map[string]string{"Supported": "timer"}, 1800 * time.Second, "uac", nil},
		{"asks uac", map[string]string{"Supported": "100rel, timer", "Session-Expires": "600;refresher=uac"}, 600 * time.Second, "uac", nil},
		{"asks uas", map[string]string{"Supported": "timer", "Session-Expires": "600;refresher=uas"}, 600 * time.Second, "uas", nil},
		{"no refresher", map[string]string{"Supported": "timer", "x": "600"}, 600 * time.Second, "uac", nil},
		{"proxy inserted", map[string]string{"Session-Expires": "600"}, 600 * time.Second, "uas", nil},
		{"lowered", map[string]string{"Supported": "timer", "Session-Expires": "7200"}, 1800 * time.Second, "uac", nil},
		{"lowered to Min-SE", map[string]string{"Supported": "timer", "Session-Expires": "7200", "Min-SE": "3600"}, 3600 * time.Second, "uac", nil},
		{"too small", map[string]string{"Session-Expires": "60"}, 0, "", errIntervalTooSmall},
		{"garbage", map[string]string{"Session-Expires": "soon"}, 0, "", errBadRequest},
		{"bad refresher", map[string]string{"Session-Expires": "600;refresher=me"}, 0, "", errBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sip.NewRequest(sip.INVITE, sip.Uri{Host: "x"})
			for k, v := range tt.hdrs {
				req.AppendHeader(sip.NewHeader(k, v))
			}
			st, err := negotiateTimer(req, 1800*time.Second, 90*time.Second)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && (st.interval != tt.interval || st.refresher != tt.refresher) {
				t.Errorf("got %v %s, want %v %s", st.interval, st.refresher, tt.interval, tt.refresher)
			}
		})
	}
}

// 200 INVITE/BYE cycles leave no call goroutines behind.
func TestNoLeakAfterManyCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	leakcheck.Check(t)
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		if c.Answer([]byte(testAnswer)) == nil {
			<-c.Context().Done()
		}
	})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 200 {
		sess, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if err := sess.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		if err := sess.Bye(ctx); err != nil {
			t.Fatalf("BYE %d: %v", i, err)
		}
	}
	// The last handler returns just after its BYE is answered.
	waitUntil(t, func() bool { return f.srv.Stats().Active == 0 })
	if st := f.srv.Stats(); st.Answered != 200 {
		t.Errorf("stats %+v", st)
	}
	f.srv.mu.Lock()
	n := len(f.srv.calls)
	f.srv.mu.Unlock()
	if n != 0 {
		t.Errorf("%d calls left in the dialog table", n)
	}
}
