package outbound_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/internal/promtest"
	"github.com/roombridge/roombridge/gateway/sip/outbound"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

func TestMain(m *testing.M) { uastest.Main(m) }

func testLog() *slog.Logger {
	if os.Getenv("SIP_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var loopback = netip.MustParseAddr("127.0.0.1")

func offer(t *testing.T) []byte { return uastest.Offer(t) }

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// uasTrunk is an outbound trunk pointing at a test UAS over UDP.
func uasTrunk(name string, prio int, srv *uastest.Server) outbound.Trunk {
	host := strings.TrimPrefix(srv.URI("", "udp"), "sip:@")
	return outbound.Trunk{Name: name, URI: "sip:" + host, Priority: prio, FromNumber: "+15550100", InviteTimeout: time.Second}
}

func newManager(t *testing.T, reg prometheus.Registerer, trunks ...outbound.Trunk) *outbound.Manager {
	t.Helper()
	m, err := outbound.New(outbound.Config{Trunks: trunks, LocalIP: loopback, Logger: testLog(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func TestDialFailoverOn503(t *testing.T) {
	bad := uastest.Start(t, uastest.Config{Reject: 503})
	good := uastest.Start(t, uastest.Config{RingFor: 50 * time.Millisecond})
	reg := prometheus.NewRegistry()
	// Priorities, not configuration order, decide: "first" goes first.
	m := newManager(t, reg, uasTrunk("second", 2, good), uasTrunk("first", 1, bad))
	var mu sync.Mutex
	var attempts []string
	var rang bool
	call, err := m.Dial(ctxT(t, 5*time.Second), outbound.DialRequest{
		To: "+15551234567", Offer: offer(t),
		OnAttempt: func(a outbound.Attempt) { mu.Lock(); attempts = append(attempts, a.Trunk); mu.Unlock() },
		OnProgress: func(p outbound.Progress) {
			if p.Code == 180 && p.Trunk == "second" {
				mu.Lock()
				rang = true
				mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if call.Trunk != "second" {
		t.Errorf("answered by %q", call.Trunk)
	}
	mu.Lock()
	if strings.Join(attempts, ",") != "first,second" || !rang {
		t.Errorf("attempts %v, rang %v", attempts, rang)
	}
	mu.Unlock()
	if got := promtest.Value(t, reg, "roombridge_trunk_active_calls", "trunk", "second"); got != 1 {
		t.Errorf("active calls %v", got)
	}
	if st := m.States(); st[1].Name != "second" || st[1].ActiveCalls != 1 {
		t.Errorf("states %+v", st)
	}
	if err := call.Hangup(ctxT(t, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st := m.States(); st[1].ActiveCalls != 0 {
		t.Errorf("active after hangup %d", st[1].ActiveCalls)
	}
	if n := promtest.Value(t, reg, "roombridge_outbound_failovers_total", "trunk", "first"); n != 1 {
		t.Errorf("failovers %v", n)
	}
}

func TestDialNoFailoverOnBusy(t *testing.T) {
	for _, code := range []int{486, 603, 404} {
		busy := uastest.Start(t, uastest.Config{Reject: code})
		good := uastest.Start(t, uastest.Config{})
		m := newManager(t, nil, uasTrunk("a", 1, busy), uasTrunk("b", 2, good))
		_, err := m.Dial(ctxT(t, 5*time.Second), outbound.DialRequest{To: "+15551234567", Offer: offer(t)})
		if uac.StatusCode(err) != code || errors.Is(err, outbound.ErrAllFailed) {
			t.Fatalf("%d: err %v", code, err)
		}
		if answered, _, _, _ := good.Counts(); answered != 0 {
			t.Errorf("%d: the second trunk was tried", code)
		}
	}
}

func TestDialAllFail(t *testing.T) {
	a := uastest.Start(t, uastest.Config{Reject: 503})
	b := uastest.Start(t, uastest.Config{Reject: 500})
	m := newManager(t, nil, uasTrunk("a", 1, a), uasTrunk("b", 2, b))
	_, err := m.Dial(ctxT(t, 5*time.Second), outbound.DialRequest{To: "+15551234567", Offer: offer(t)})
	if !errors.Is(err, outbound.ErrAllFailed) || uac.StatusCode(err) != 500 {
		t.Fatalf("err %v", err)
	}
}

// A trunk whose server never answers is abandoned after its invite
// timeout, without a CANCEL, and the next one carries the call.
func TestDialFailoverOnNoResponse(t *testing.T) {
	silent := silentUDP(t)
	good := uastest.Start(t, uastest.Config{})
	m := newManager(t, nil,
		outbound.Trunk{Name: "silent", URI: "sip:" + silent, Priority: 1, InviteTimeout: 500 * time.Millisecond},
		uasTrunk("good", 2, good))
	start := time.Now()
	call, err := m.Dial(ctxT(t, 10*time.Second), outbound.DialRequest{To: "+15551234567", Offer: offer(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup(context.Background())
	if call.Trunk != "good" {
		t.Errorf("trunk %q", call.Trunk)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("failover took %v; the invite timeout is 500ms", d)
	}
}

func TestDialCancel(t *testing.T) {
	ringing := uastest.Start(t, uastest.Config{RingFor: 10 * time.Second})
	other := uastest.Start(t, uastest.Config{})
	m := newManager(t, nil, uasTrunk("a", 1, ringing), uasTrunk("b", 2, other))
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, err := m.Dial(ctx, outbound.DialRequest{To: "+15551234567", Offer: offer(t)})
	if !errors.Is(err, uac.ErrCanceled) {
		t.Fatalf("err %v", err)
	}
	if answered, _, _, _ := other.Counts(); answered != 0 {
		t.Error("a cancelled call failed over")
	}
}

func TestDialRouting(t *testing.T) {
	srv := uastest.Start(t, uastest.Config{})
	uk := uasTrunk("uk", 1, srv)
	uk.Numbers = []string{"+44*"}
	m := newManager(t, nil, uk)
	for _, tc := range []struct {
		req  outbound.DialRequest
		want error
	}{
		{outbound.DialRequest{To: "+15551234567"}, outbound.ErrNoRoute},
		{outbound.DialRequest{To: "+441234", Trunk: "nope"}, outbound.ErrUnknownTrunk},
		{outbound.DialRequest{To: "not a number"}, outbound.ErrInvalidDestination},
		{outbound.DialRequest{To: "+441234", From: "alice"}, outbound.ErrInvalidDestination},
		{outbound.DialRequest{To: "+441234", Headers: []uac.Header{{Name: "Via", Value: "x"}}}, uac.ErrInvalidConfig},
		{outbound.DialRequest{To: "+441234", Headers: []uac.Header{{Name: "X-A", Value: "a\r\nB: c"}}}, uac.ErrInvalidConfig},
	} {
		tc.req.Offer = offer(t)
		if _, err := m.Dial(ctxT(t, 2*time.Second), tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%+v: err %v, want %v", tc.req.To, err, tc.want)
		}
	}
	// A SIP URI goes straight to its host, with the extra headers.
	call, err := m.Dial(ctxT(t, 5*time.Second), outbound.DialRequest{
		To: srv.URI("room", "tcp"), Offer: offer(t), Headers: []uac.Header{{Name: "X-Customer-Id", Value: "42"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if call.Trunk != "" {
		t.Errorf("trunk %q", call.Trunk)
	}
	_ = call.Hangup(ctxT(t, 2*time.Second))
}

func TestTrunkCheck(t *testing.T) {
	for name, tr := range map[string]outbound.Trunk{
		"uri":              {Name: "x", URI: "http://x"},
		"uri:":             {Name: "x", URI: "sip:x;transport=sctp"},
		"password":         {Name: "x", URI: "sip:x", Username: "u"},
		"register":         {Name: "x", URI: "sip:x", Register: true},
		"register_expires": {Name: "x", URI: "sip:x", Register: true, Username: "u", Password: "p", RegisterExpires: time.Second},
		"from_number":      {Name: "x", URI: "sip:x", FromNumber: "bob"},
		"numbers[0]":       {Name: "x", URI: "sip:x", Numbers: []string{"abc*"}},
		"options_interval": {Name: "x", URI: "sip:x", OptionsInterval: time.Millisecond},
		"name":             {URI: "sip:x"},
	} {
		_, err := tr.Check()
		if !errors.Is(err, outbound.ErrInvalidConfig) || !strings.Contains(err.Error(), strings.TrimSuffix(name, ":")+":") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFailoverStatus(t *testing.T) {
	for code, want := range map[int]bool{
		408: true, 500: true, 502: true, 503: true, 504: true, 401: true, 407: true,
		486: false, 600: false, 603: false, 404: false, 480: false, 484: false, 487: false, 403: false,
	} {
		err := &uac.StatusError{Method: "INVITE", Code: code}
		if got := outbound.FailoverStatus(err); got != want {
			t.Errorf("%d: %v", code, got)
		}
	}
	if !outbound.FailoverStatus(uac.ErrNoResponse) || outbound.FailoverStatus(uac.ErrCanceled) || outbound.FailoverStatus(nil) {
		t.Error("no response / cancelled / nil")
	}
}

// silentUDP is a UDP socket that reads and drops everything: a SIP
// server that is down without an ICMP error.
func silentUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return pc.LocalAddr().String()
}

// startUASAddr starts a test UAS and returns its UDP address.
func startUASAddr(t *testing.T) string {
	t.Helper()
	srv := uastest.Start(t, uastest.Config{})
	return strings.TrimPrefix(srv.URI("", "udp"), "sip:@")
}

// A trunk whose server answers OPTIONS at all (the test UAS does not serve
// OPTIONS and answers 405) is up; one that never answers is down, and
// Dial skips it.
func TestOptionsHealth(t *testing.T) {
	alive := uastest.Start(t, uastest.Config{})
	silent := silentUDP(t)
	up := uasTrunk("alive", 2, alive)
	up.OptionsInterval = time.Second
	m := newManager(t, nil, up,
		outbound.Trunk{Name: "silent", URI: "sip:" + silent, Priority: 1, OptionsInterval: time.Second})
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := m.States()
		if st[0].Options.Health == outbound.HealthDown && st[1].Options.Health == outbound.HealthUp {
			if st[1].Options.LastStatus == 0 || st[0].Options.LastError == "" || st[0].Options.Failures < 1 {
				t.Errorf("states %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("states %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	call, err := m.Dial(ctxT(t, 5*time.Second), outbound.DialRequest{To: "+15551234567", Offer: offer(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup(context.Background())
	if call.Trunk != "alive" {
		t.Errorf("dialled through %q", call.Trunk)
	}
	// With every trunk for the number down, Dial fails at once.
	m2 := newManager(t, nil, outbound.Trunk{Name: "silent", URI: "sip:" + silent, OptionsInterval: time.Second})
	deadline = time.Now().Add(10 * time.Second)
	for m2.States()[0].Options.Health != outbound.HealthDown {
		if time.Now().After(deadline) {
			t.Fatal("not down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := m2.Dial(ctxT(t, 5*time.Second), outbound.DialRequest{To: "+1555", Offer: offer(t)}); !errors.Is(err, outbound.ErrNoTrunkAvailable) {
		t.Errorf("err %v", err)
	}
}

// A SIP URI dialled with a trunk goes to the trunk's servers (an outbound
// proxy), keeping the URI as the Request-URI.
func TestDialURIThroughTrunk(t *testing.T) {
	srv := uastest.Start(t, uastest.Config{})
	m := newManager(t, nil, uasTrunk("proxy", 1, srv))
	call, err := m.Dial(ctxT(t, 5*time.Second), outbound.DialRequest{
		To: "sip:boardroom@video.example.invalid", Trunk: "proxy", Offer: offer(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup(context.Background())
	if call.Trunk != "proxy" || call.Target.Addr.String() != strings.TrimPrefix(srv.URI("", "udp"), "sip:@") {
		t.Errorf("trunk %q target %v", call.Trunk, call.Target)
	}
}
