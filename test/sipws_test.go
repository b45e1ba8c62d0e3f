package test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
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
	g.srv = startSIPGateway(t, append([]string{fmt.Sprintf(`
sip:
  listen: [udp://%s, tcp://%s, ws://%s, wss://%s]
  tls: { cert: %q, key: %q }
  ws_ping_interval: 2s
`, g.udp, g.udp, g.ws, g.wss, cert, key)}, extra...)...)
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
// the gateway's capabilities; a WebRTC offer gets 488 with a Warning.
func TestSIPWebSocketHandshake(t *testing.T) {
	g := startSIPWSGateway(t)
	insecure := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // self-signed test certificate
	if _, status, err := sipwstest.Dial(t, "ws://"+g.ws, "http://evil.example", nil); err == nil || status != http.StatusForbidden {
		t.Fatalf("foreign origin: status %d, err %v; want 403", status, err)
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
		"a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\n" +
		"a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
	res := c.Final("INVITE sip:demo@" + sipDomain + " SIP/2.0\r\nVia: SIP/2.0/WSS " + host + ";branch=z9hG4bKi1\r\n" +
		"Max-Forwards: 70\r\nTo: <sip:demo@" + sipDomain + ">\r\nFrom: <sip:a@" + sipDomain + ">;tag=i1\r\n" +
		"Call-ID: inv1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@" + host + ";transport=ws>\r\n" +
		"Content-Type: application/sdp\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(offer)) + offer)
	if !strings.HasPrefix(res, "SIP/2.0 488 Not Acceptable Here\r\n") || !strings.Contains(res, "\r\nWarning: 302 "+sipDomain+` "Incompatible transport protocol`) {
		t.Errorf("WebRTC offer answer:\n%s", res)
	}
}
