package test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/loadgen"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/sipws/sipwstest"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/ports"
)

// sipWSGateway starts a gateway with SIP over UDP and TCP on one port and
// over ws:// and wss:// on two others (a self-signed certificate for
// 127.0.0.1). extra YAML is merged last.
type sipWSGateway struct {
	srv      *harness.Server
	ws, wss  string // host:port of the WebSocket listeners
	udp      string
	certPath string
}

func startSIPWSGateway(t *testing.T, extra ...string) *sipWSGateway {
	return startSIPWSGatewayEnv(t, nil, extra...)
}

// startSIPWSGatewayEnv is startSIPWSGateway with environment variables for
// the gateway process.
func startSIPWSGatewayEnv(t *testing.T, env []string, extra ...string) *sipWSGateway {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end SIP test; skipped with -short")
	}
	dir := t.TempDir()
	cert, key := selfSignedCert(t, dir)
	sipPort, err := ports.Dual()
	if err != nil {
		t.Fatal(err)
	}
	g := &sipWSGateway{
		udp:      fmt.Sprintf("127.0.0.1:%d", sipPort),
		ws:       fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t)),
		wss:      fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t)),
		certPath: cert,
	}
	g.srv = harness.Start(t, harness.Options{
		Config: map[string]any{
			"sip": map[string]any{"domain": sipDomain},
			// Loopback callers are a trusted trunk: they dial demo without its
			// PIN (browser SIP accounts from elsewhere are asked for it).
			"trunks": []any{map[string]any{"name": "local", "allow": []any{"127.0.0.0/8"}, "trusted": true}},
		},
		YAML: append([]string{fmt.Sprintf(`
sip:
  listen: [udp://%s, tcp://%s, ws://%s, wss://%s]
  tls: { cert: %q, key: %q }
  ws_ping_interval: 2s
`, g.udp, g.udp, g.ws, g.wss, cert, key)}, extra...),
		Env: env,
	})
	return g
}

// TestSIPWebSocketG711Call: phones over ws:// and wss:// (the Go test
// caller, G.711 over plain RTP, as any SIP-over-WebSocket client that does
// not insist on WebRTC media) and one over UDP meet in room demo; each hears
// the other two and not itself.
func TestSIPWebSocketG711Call(t *testing.T) {
	g := startSIPWSGateway(t)
	call := func(transport uac.Transport, addr string, freq float64, portMin uint16) *sipCall {
		return sipStartCaller(t, caller.Options{
			Target: "sip:demo@" + addr, Transport: transport, Insecure: true,
			Codec: caller.CodecPCMU, Tone: freq, Duration: 8 * time.Second,
			PortMin: portMin, PortMax: portMin + 999,
		})
	}
	ws := call(uac.TransportWS, g.ws, 440, 35000)
	wss := call(uac.TransportWSS, g.wss, 1000, 36100)
	udp := call(uac.TransportUDP, g.udp, 1800, 37200)
	sipWaitRoom(t, g.srv, "demo", 15*time.Second, nil, "three SIP participants",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 3 })

	for _, c := range []struct {
		name       string
		r          *caller.Report
		self       float64
		hear       []float64
		wantTransp string
	}{
		{"ws", ws.wait(t, 30*time.Second), 440, []float64{1000, 1800}, "ws"},
		{"wss", wss.wait(t, 30*time.Second), 1000, []float64{440, 1800}, "wss"},
		{"udp", udp.wait(t, 30*time.Second), 1800, []float64{440, 1000}, "udp"},
	} {
		off := c.r.PowerAt(3100)
		own := c.r.PowerAt(c.self)
		t.Logf("%s: %.1f dBFS, peaks %v, own %.3g, unrelated %.3g", c.name, c.r.HeardRMS, c.r.Peaks, own, off)
		if c.r.Transport != c.wantTransp {
			t.Errorf("%s: report transport %q", c.name, c.r.Transport)
		}
		for _, f := range c.hear {
			if p := c.r.PowerAt(f); p < 100*off || p < 10*own {
				t.Errorf("%s does not clearly hear %v Hz: power %.3g", c.name, f, p)
			}
		}
	}
	sipWaitRoom(t, g.srv, "demo", 10*time.Second, nil, "everyone gone after BYE",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })
}

// TestSIPWebSocketHandshake: the gateway's own pages may open a SIP
// WebSocket, another site's may not (403 before the upgrade); OPTIONS gets
// the gateway's capabilities; a WebRTC offer the WebRTC leg cannot answer
// (no DTLS fingerprint) gets 488 with a Warning that says why.
func TestSIPWebSocketHandshake(t *testing.T) {
	g := startSIPWSGateway(t)
	insecure := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // self-signed test certificate
	if _, status, err := sipwstest.Dial(t, "ws://"+g.ws, "http://evil.example", nil); err == nil || status != http.StatusForbidden {
		t.Fatalf("foreign origin: status %d, err %v; want 403", status, err)
	}
	m, err := loadgen.Scrape(t.Context(), http.DefaultClient, g.srv.URL+"/metrics")
	if v, _ := m.Value("roombridge_sipws_refused_total"); err != nil || v != 1 {
		t.Errorf("roombridge_sipws_refused_total = %v (%v), want 1", v, err)
	}
	// The page origin a browser sends for the gateway's own web client.
	c := sipwstest.MustDial(t, "wss://"+g.wss, g.srv.URL, insecure)
	const host = "q2lj3k9a.invalid"
	opts := c.Final("OPTIONS sip:" + sipDomain + " SIP/2.0\r\nVia: SIP/2.0/WSS " + host + ";branch=z9hG4bKo1\r\n" +
		"Max-Forwards: 70\r\nTo: <sip:" + sipDomain + ">\r\nFrom: <sip:a@" + sipDomain + ">;tag=o1\r\n" +
		"Call-ID: opt1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	if !strings.HasPrefix(opts, "SIP/2.0 200 OK\r\n") || !strings.Contains(opts, "\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE") {
		t.Errorf("OPTIONS answer:\n%s", opts)
	}
	offer := "v=0\r\no=- 4 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp-mux\r\na=mid:0\r\n" +
		"a=setup:actpass\r\na=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\n" +
		"a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
	res := c.Final("INVITE sip:demo@" + sipDomain + " SIP/2.0\r\nVia: SIP/2.0/WSS " + host + ";branch=z9hG4bKi1\r\n" +
		"Max-Forwards: 70\r\nTo: <sip:demo@" + sipDomain + ">\r\nFrom: <sip:a@" + sipDomain + ">;tag=i1\r\n" +
		"Call-ID: inv1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@" + host + ";transport=ws>\r\n" +
		"Content-Type: application/sdp\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(offer)) + offer)
	if !strings.HasPrefix(res, "SIP/2.0 488 Not Acceptable Here\r\n") || !strings.Contains(res, "\r\nWarning: 399 "+sipDomain+` "Offer not acceptable`) ||
		!strings.Contains(res, "a=fingerprint") {
		t.Errorf("WebRTC offer answer:\n%s", res)
	}
}

// TestSIPWebSocketIdleConnections holds 500 idle wss:// sockets (each has
// sent one OPTIONS, as a registered browser would have, and then only
// answers pings) for many ping intervals: every socket stays open and
// answers at the end, and the gateway's memory does not grow while they
// idle. The cost per socket is logged (README figures).
func TestSIPWebSocketIdleConnections(t *testing.T) {
	const n = 500
	// GOGC=5 collects garbage (that of pings) often, so that the live heap
	// (next GC target / 1.05) is known at each scrape.
	const gogc = 5
	g := startSIPWSGatewayEnv(t, []string{fmt.Sprint("GOGC=", gogc)}, "sip: { ws_max_per_ip: 0, ws_ping_interval: 1s }")
	insecure := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // self-signed test certificate
	scrape := func() loadgen.Metrics {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m, err := loadgen.Scrape(ctx, http.DefaultClient, g.srv.URL+"/metrics")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	val := func(m loadgen.Metrics, name string) float64 {
		v, ok := m.Value(name)
		if !ok {
			t.Fatalf("/metrics has no %s", name)
		}
		return v
	}
	// The live heap as of the last GC: the GC's next target is
	// (1 + GOGC/100) times it.
	live := func(m loadgen.Metrics) float64 { return val(m, "go_memstats_next_gc_bytes") / (1 + gogc/100.0) }
	options := func(c *sipwstest.Client, i, round int) {
		t.Helper()
		res := c.Final(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/WSS %s;branch=z9hG4bKi%dr%d\r\n"+
			"Max-Forwards: 70\r\nTo: <sip:%s>\r\nFrom: <sip:u%d@%s>;tag=t%d\r\nCall-ID: idle%d-%d\r\nCSeq: %d OPTIONS\r\n"+
			"Content-Length: 0\r\n\r\n", sipDomain, sipwstest.InvalidHost, i, round, sipDomain, i, sipDomain, i, i, round, round+1))
		if sipwstest.StartLine(res) != "SIP/2.0 200 OK" {
			t.Fatalf("socket %d round %d: %q", i, round, sipwstest.StartLine(res))
		}
	}
	// Clients answer pings (gorilla does when something reads), so from
	// its first OPTIONS on each socket has a reader that passes messages on.
	before := scrape()
	conns := make([]*sipwstest.Client, n)
	inbox := make([]chan string, n)
	for i := range conns {
		c := sipwstest.MustDial(t, "wss://"+g.wss, g.srv.URL, insecure)
		options(c, i, 0)
		conns[i], inbox[i] = c, make(chan string, 4)
		_ = c.Conn.SetReadDeadline(time.Time{}) // Final set one
		go func() {
			defer close(inbox[i])
			for {
				_, data, err := c.Conn.ReadMessage()
				if err != nil {
					return
				}
				inbox[i] <- string(data)
			}
		}()
	}
	// Let the first pings and GC cycles pass, then measure, idle, measure.
	time.Sleep(3 * time.Second)
	open := scrape()
	if got := val(open, "roombridge_sipws_connections"); got != n {
		t.Fatalf("%v sockets open, want %d", got, n)
	}
	// Twenty ping intervals, sampled every two.
	var idle loadgen.Metrics
	var early float64 // the largest live heap of the first two samples
	for i := range 10 {
		time.Sleep(2 * time.Second)
		idle = scrape()
		if i < 2 {
			early = max(early, live(idle))
		}
		t.Logf("idle: live heap %.1f MiB, RSS %.1f MiB", live(idle)/(1<<20), val(idle, "process_resident_memory_bytes")/(1<<20))
	}

	perConn := func(name string, m loadgen.Metrics) float64 { return (val(m, name) - val(before, name)) / n }
	held := live(open) - live(before)
	t.Logf("%d idle wss sockets: RSS %.1f KiB/socket, live Go heap %.1f KiB/socket, %.2f goroutines/socket; "+
		"after 20 s idle: RSS %.1f MiB → %.1f MiB, live heap %.1f MiB → %.1f MiB (%v GC cycles)",
		n, perConn("process_resident_memory_bytes", open)/1024, held/n/1024, perConn("go_goroutines", open),
		val(open, "process_resident_memory_bytes")/(1<<20), val(idle, "process_resident_memory_bytes")/(1<<20),
		live(open)/(1<<20), live(idle)/(1<<20), val(idle, "go_gc_duration_seconds_count")-val(open, "go_gc_duration_seconds_count"))
	if got := val(idle, "roombridge_sipws_connections"); got != n {
		t.Errorf("%v sockets open after idling, want %d", got, n)
	}
	// Flat: idling (pings, timers) keeps no memory. The estimate moves
	// in steps of about 0.8 MiB from one GC cycle to the next; a twentieth
	// of what the sockets hold (1.2 MiB) is room for that and not for a
	// leak of 2.5 KiB per socket over 16 s.
	if val(idle, "go_gc_duration_seconds_count") == val(open, "go_gc_duration_seconds_count") {
		t.Fatal("no GC cycle while idling: the live heap is not known")
	}
	if grow := live(idle) - early; grow > held/20 {
		t.Errorf("live heap grew by %.1f MiB while the sockets idled (they hold %.1f MiB)", grow/(1<<20), held/(1<<20))
	}
	if grow := val(idle, "go_goroutines") - val(open, "go_goroutines"); grow > 5 {
		t.Errorf("%v more goroutines after idling", grow)
	}
	// Every socket still works.
	for i, c := range conns {
		c.Send(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/WSS %s;branch=z9hG4bKf%d\r\n"+
			"Max-Forwards: 70\r\nTo: <sip:%s>\r\nFrom: <sip:u%d@%s>;tag=t%d\r\nCall-ID: idle%d-1\r\nCSeq: 2 OPTIONS\r\n"+
			"Content-Length: 0\r\n\r\n", sipDomain, sipwstest.InvalidHost, i, sipDomain, i, sipDomain, i, i))
	}
	for i := range conns {
		select {
		case res := <-inbox[i]:
			if sipwstest.StartLine(res) != "SIP/2.0 200 OK" {
				t.Errorf("socket %d after idling: %q", i, sipwstest.StartLine(res))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("socket %d: no answer after idling", i)
		}
	}
}
