package sipws

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/sipws/sipwstest"
)

func TestMain(m *testing.M) {
	sip.SetDefaultLogger(testLogger())
	goleak.VerifyTestMain(m)
}

// A browser's OPTIONS over ws:// reaches sipgo's handler with transport WS
// and the socket's address as source, and the 200 comes back on the socket.
func TestOptionsOverWS(t *testing.T) {
	s := newStack(t, Config{})
	c := mustDial(t, s.url, nil)
	res := roundTrip(c, options("a1"))
	if got := sipwstest.StartLine(res); got != "SIP/2.0 200 OK" {
		t.Fatalf("response %q", got)
	}
	if !strings.Contains(res, "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKa1") {
		t.Errorf("response lost the client's Via:\n%s", res)
	}
	reqs := s.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests seen", len(reqs))
	}
	if reqs[0].Transport() != "WS" || reqs[0].Source() != c.Conn.LocalAddr().String() {
		t.Errorf("transport %q source %q; want WS from %s", reqs[0].Transport(), reqs[0].Source(), c.Conn.LocalAddr())
	}
	if info, ok := s.l.Lookup(reqs[0].Source()); !ok || info.Origin != "http://page.test" || info.Transport != "WS" {
		t.Errorf("Lookup(%s) = %+v, %v", reqs[0].Source(), info, ok)
	}
}

// Over wss:// the same works and sipgo names the transport WSS.
func TestOptionsOverWSS(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	s := newStack(t, Config{TLS: serverTLS})
	c := mustDial(t, s.url, clientTLS)
	if got := sipwstest.StartLine(roundTrip(c, options("b1"))); got != "SIP/2.0 200 OK" {
		t.Fatalf("response %q", got)
	}
	if reqs := s.requests(); len(reqs) != 1 || reqs[0].Transport() != "WSS" {
		t.Fatalf("requests %v", reqs)
	}
}

// A request the server starts (as the gateway's BYE or INFO in a dialog)
// reaches the browser over its own socket: the ".invalid" host of its
// Contact is never resolved.
func TestServerRequestReachesBrowser(t *testing.T) {
	s := newStack(t, Config{})
	c := mustDial(t, s.url, nil)
	roundTrip(c, options("c1"))
	src := s.requests()[0].Source()

	req := sip.NewRequest(sip.MESSAGE, sip.Uri{User: "alice", Host: "df7jal23ls0d.invalid", UriParams: sip.HeaderParams{{K: "transport", V: "ws"}}})
	req.SetDestination(src)
	req.SetTransport("WS")
	req.SetBody([]byte("hello"))
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	tx, err := s.client.TransactionRequest(ctxTimeout(t), req)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Terminate()
	got := c.Read()
	if !strings.HasPrefix(got, "MESSAGE sip:alice@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\n") || !strings.HasSuffix(got, "\r\n\r\nhello") {
		t.Fatalf("browser got:\n%s", got)
	}
	// The browser answers; the transaction completes with its 200.
	via := hdr(got, "Via")
	answer := "SIP/2.0 200 OK\r\n" + via + "\r\n" + hdr(got, "From") + "\r\n" + hdr(got, "To") + ";tag=b\r\n" +
		hdr(got, "Call-ID") + "\r\n" + hdr(got, "CSeq") + "\r\nContent-Length: 0\r\n\r\n"
	c.Send(answer)
	select {
	case res := <-tx.Responses():
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no response reached the transaction")
	}
}

// hdr is a header line as it stands in msg.
func hdr(msg, name string) string { return name + ": " + sipwstest.Header(msg, name) }

// Refusals happen before the upgrade, with the right HTTP status.
func TestHandshakeRefusals(t *testing.T) {
	s := newStack(t, Config{MaxPerIP: 2})
	t.Run("origin", func(t *testing.T) {
		_, status, err := sipwstest.Dial(t, s.url, "http://evil.test", nil)
		if !errors.Is(err, websocket.ErrBadHandshake) || status != http.StatusForbidden {
			t.Fatalf("err %v, status %d; want 403", err, status)
		}
	})
	t.Run("no subprotocol", func(t *testing.T) {
		d := websocket.Dialer{}
		c, res, err := d.Dial(s.url, http.Header{"Origin": {"http://page.test"}})
		if c != nil {
			_ = c.Close()
		}
		if res != nil {
			_ = res.Body.Close()
		}
		if err == nil || res == nil || res.StatusCode != http.StatusBadRequest {
			t.Fatalf("err %v, response %v; want 400", err, res)
		}
	})
	t.Run("plain GET", func(t *testing.T) {
		res, err := http.Get("http" + strings.TrimPrefix(s.url, "ws"))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusUpgradeRequired {
			t.Fatalf("status %d, want 426", res.StatusCode)
		}
	})
	t.Run("per IP", func(t *testing.T) {
		a := mustDial(t, s.url, nil)
		b := mustDial(t, s.url, nil)
		_, status, err := sipwstest.Dial(t, s.url, "http://page.test", nil)
		if err == nil || status != http.StatusTooManyRequests {
			t.Fatalf("third socket: err %v, status %d; want 429", err, status)
		}
		_ = a.Conn.Close()
		// The slot frees once the server has seen the close.
		lo := netip.MustParseAddr("127.0.0.1")
		waitFor(t, 5*time.Second, "a slot to free", func() bool {
			s.l.mu.Lock()
			defer s.l.mu.Unlock()
			return s.l.perIP[lo] < 2
		})
		c := mustDial(t, s.url, nil)
		for _, x := range []*sipwstest.Client{b, c} {
			if got := sipwstest.StartLine(roundTrip(x, options(fmt.Sprint("p", x.Conn.LocalAddr())))); got != "SIP/2.0 200 OK" {
				t.Errorf("response %q", got)
			}
		}
	})
	st := s.l.Stats()
	if st.Refused["origin"] != 1 || st.Refused["subprotocol"] != 1 || st.Refused["per_ip"] != 1 || st.Refused["not_upgrade"] != 1 {
		t.Errorf("refusals %v", st.Refused)
	}
}

// A page without an Origin header is not a browser and is let in; with no
// CheckOrigin at all, no browser page is.
func TestOriginDefaults(t *testing.T) {
	s := newStack(t, Config{CheckOrigin: func(string, *http.Request) bool { return false }})
	if _, _, err := sipwstest.Dial(t, s.url, "", nil); err != nil {
		t.Fatalf("client without Origin: %v", err)
	}
	if _, status, _ := sipwstest.Dial(t, s.url, "http://page.test", nil); status != http.StatusForbidden {
		t.Fatalf("status %d, want 403", status)
	}
}

// Garbage closes its own socket with 1002; a neighbour's socket carries on.
func TestGarbageClosesOnlyItsSocket(t *testing.T) {
	s := newStack(t, Config{})
	good := mustDial(t, s.url, nil)
	for i, garbage := range [][]byte{
		[]byte("hello, is this SIP?"),
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		{0xff, 0x00, 0x13, 0x37},
	} {
		bad := mustDial(t, s.url, nil)
		mt := websocket.TextMessage
		if i == 2 {
			mt = websocket.BinaryMessage
		}
		if err := bad.Conn.WriteMessage(mt, garbage); err != nil {
			t.Fatal(err)
		}
		if code := bad.CloseCode(); code != websocket.CloseProtocolError {
			t.Errorf("garbage %q: close code %d, want 1002", garbage, code)
		}
	}
	if got := sipwstest.StartLine(roundTrip(good, options("g1"))); got != "SIP/2.0 200 OK" {
		t.Fatalf("neighbour's response %q", got)
	}
	if n := s.l.Stats().NotSIP; n != 3 {
		t.Errorf("NotSIP = %d, want 3", n)
	}
}

// Something that passes the quick check but is not parseable SIP is closed
// by sipgo itself; again only that socket.
func TestUnparsableSIPClosesOnlyItsSocket(t *testing.T) {
	s := newStack(t, Config{})
	good := mustDial(t, s.url, nil)
	bad := mustDial(t, s.url, nil)
	if err := bad.Conn.WriteMessage(websocket.TextMessage, []byte("OPTIONS sip:x SIP/2.0\r\nVia: \x01\x02\r\nCSeq: nope\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	bad.CloseCode()
	if got := sipwstest.StartLine(roundTrip(good, options("u1"))); got != "SIP/2.0 200 OK" {
		t.Fatalf("neighbour's response %q", got)
	}
}

// A SIP message sent as a binary frame, or fragmented, is one message.
func TestBinaryAndFragmentedMessages(t *testing.T) {
	s := newStack(t, Config{})
	c := mustDial(t, s.url, nil)
	if err := c.Conn.WriteMessage(websocket.BinaryMessage, []byte(options("bin"))); err != nil {
		t.Fatal(err)
	}
	if got := sipwstest.StartLine(c.Read()); got != "SIP/2.0 200 OK" {
		t.Fatalf("binary: %q", got)
	}
	w, err := c.Conn.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	msg := options("frag")
	for i := 0; i < len(msg); i += 7 {
		if _, err := w.Write([]byte(msg[i:min(i+7, len(msg))])); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.Close()
	if got := sipwstest.StartLine(c.Read()); got != "SIP/2.0 200 OK" {
		t.Fatalf("fragmented: %q", got)
	}
}

// RFC 5626 §3.5.1 double-CRLF pings get a single CRLF; a lone CRLF gets
// nothing and keeps the socket.
func TestCRLFKeepalive(t *testing.T) {
	s := newStack(t, Config{})
	c := mustDial(t, s.url, nil)
	c.Send("\r\n")
	if got := roundTrip(c, "\r\n\r\n"); got != "\r\n" {
		t.Fatalf("pong %q", got)
	}
	if got := sipwstest.StartLine(roundTrip(c, options("k1"))); got != "SIP/2.0 200 OK" {
		t.Fatalf("after keep-alives: %q", got)
	}
	if len(s.requests()) != 1 {
		t.Errorf("keep-alives reached sipgo: %v", s.requests())
	}
}

// The server pings; a client that answers stays, one that does not is
// closed after 2.5 ping intervals.
func TestPingsAndDeadSockets(t *testing.T) {
	s := newStack(t, Config{PingInterval: 40 * time.Millisecond})
	alive := mustDial(t, s.url, nil)
	pings := make(chan struct{}, 100)
	alive.Conn.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return alive.Conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	dead := mustDial(t, s.url, nil)
	dead.Conn.SetPingHandler(func(string) error { return nil }) // never pongs
	go func() {
		for {
			if _, _, err := alive.Conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	if code := dead.CloseCode(); code != websocket.CloseGoingAway {
		t.Errorf("dead socket close code %d, want 1001", code)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("dead socket closed after %v, before two pings went unanswered", d)
	}
	// The live socket keeps getting pings and stays open long after.
	waitFor(t, 5*time.Second, "ten pings on the live socket", func() bool { return len(pings) >= 10 })
	if open := s.l.Stats().Open; open != 1 {
		t.Errorf("%d sockets open, want the live one", open)
	}
}

// A message over MaxMessage closes the socket with 1009.
func TestMessageTooBig(t *testing.T) {
	s := newStack(t, Config{MaxMessage: 1024})
	c := mustDial(t, s.url, nil)
	big := options("big") + strings.Repeat("x", 2000)
	c.Send(big)
	if code := c.CloseCode(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

// Closing the listener closes every socket with 1001 and ends sipgo's serve
// loop; goleak (TestMain) checks nothing is left running.
func TestCloseEndsEverything(t *testing.T) {
	s := newStack(t, Config{})
	var conns []*sipwstest.Client
	for range 5 {
		c := mustDial(t, s.url, nil)
		roundTrip(c, options(fmt.Sprint("x", len(conns))))
		conns = append(conns, c)
	}
	// One more that is upgraded but never gets a message.
	conns = append(conns, mustDial(t, s.url, nil))
	s.close(t)
	for _, c := range conns {
		if code := c.CloseCode(); code != websocket.CloseGoingAway && code != websocket.CloseNormalClosure {
			t.Errorf("close code %d", code)
		}
	}
	if _, err := s.l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{PingInterval: -1},
		{MaxMessage: 1 << 20},
		{WriteTimeout: -1},
	} {
		if _, err := New(nil, cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

// A closed socket is reported by its remote address, as sipgo knows it,
// so that a registrar can drop the bindings reachable only through it.
func TestOnCloseReportsTheSocket(t *testing.T) {
	closed := make(chan string, 4)
	s := newStack(t, Config{OnClose: func(remote string) { closed <- remote }})
	c := mustDial(t, s.url, nil)
	if got := sipwstest.StartLine(roundTrip(c, options("c1"))); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS: %q", got)
	}
	local := c.Conn.LocalAddr().String()
	if _, ok := s.l.Lookup(local); !ok {
		t.Fatalf("socket %s unknown while open", local)
	}
	_ = c.Conn.Close()
	select {
	case remote := <-closed:
		if remote != local {
			t.Errorf("OnClose(%q), want the client's address %q", remote, local)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnClose not called after the client closed its socket")
	}
}
