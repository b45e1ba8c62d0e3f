// Package sipwstest is a SIP-over-WebSocket client for tests: it opens a
// socket the way a browser's SIP stack does (subprotocol "sip", an Origin)
// and exchanges raw SIP messages, so tests see exactly what goes over the
// wire.
package sipwstest

import (
	"crypto/tls"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// InvalidHost is the host a browser puts in its Via and Contact: a random
// name under ".invalid" (RFC 7118 §5), reachable only over its socket.
const InvalidHost = "df7jal23ls0d.invalid"

// Client is one test socket.
type Client struct {
	t    testing.TB
	Conn *websocket.Conn
	// Via is "WS" or "WSS", for the Via header of the messages a test
	// writes.
	Via string
}

// Dial opens a socket to url with the sip subprotocol and the given Origin
// (none when empty). status is the handshake's HTTP status, 0 without one.
// The socket is closed when the test ends.
func Dial(t testing.TB, url, origin string, tlsCfg *tls.Config) (c *Client, status int, err error) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"sip"}, HandshakeTimeout: 5 * time.Second, TLSClientConfig: tlsCfg}
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	conn, res, err := d.Dial(url, h)
	if res != nil {
		status = res.StatusCode
		_ = res.Body.Close()
	}
	if err != nil {
		return nil, status, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	via := "WS"
	if strings.HasPrefix(url, "wss:") {
		via = "WSS"
	}
	return &Client{t: t, Conn: conn, Via: via}, status, nil
}

// MustDial is Dial that fails the test on an error or a socket without the
// sip subprotocol.
func MustDial(t testing.TB, url, origin string, tlsCfg *tls.Config) *Client {
	t.Helper()
	c, status, err := Dial(t, url, origin, tlsCfg)
	if err != nil {
		t.Fatalf("sipwstest: dial %s (origin %q): status %d, %v", url, origin, status, err)
	}
	if p := c.Conn.Subprotocol(); p != "sip" {
		t.Fatalf("sipwstest: subprotocol %q, want sip", p)
	}
	return c
}

// Send writes one message as a text frame.
func (c *Client) Send(msg string) {
	c.t.Helper()
	if err := c.Conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		c.t.Fatalf("sipwstest: write: %v", err)
	}
}

// Read returns the next text message.
func (c *Client) Read() string {
	c.t.Helper()
	_ = c.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	mt, data, err := c.Conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("sipwstest: read: %v", err)
	}
	if mt != websocket.TextMessage {
		c.t.Fatalf("sipwstest: message type %d, want text", mt)
	}
	return string(data)
}

// Next returns the next message whose start line begins with prefix
// ("SIP/2.0 200", "BYE "), skipping others such as provisional responses.
func (c *Client) Next(prefix string) string {
	c.t.Helper()
	for {
		if msg := c.Read(); strings.HasPrefix(msg, prefix) {
			return msg
		}
	}
}

// Final sends msg and returns the first response to it that is not
// provisional (1xx).
func (c *Client) Final(msg string) string {
	c.t.Helper()
	c.Send(msg)
	for {
		if res := c.Read(); strings.HasPrefix(res, "SIP/2.0 ") && !strings.HasPrefix(res, "SIP/2.0 1") {
			return res
		}
	}
}

// CloseCode reads until the socket ends and returns the close code the
// server sent, 0 for none.
func (c *Client) CloseCode() int {
	_ = c.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.Conn.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok { //nolint:errorlint // gorilla returns it unwrapped
			return ce.Code
		}
		return 0
	}
}

// StartLine is the first line of a message.
func StartLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\r\n")
	return line
}

// Header returns the value of the first header called name (case
// insensitive, no compact forms), "" when there is none.
func Header(msg, name string) string {
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Response builds a response to req with code and reason, copying Via,
// From, To (with toTag added when not empty), Call-ID and CSeq.
func Response(req string, code int, reason, toTag string) string {
	to := Header(req, "To")
	if toTag != "" && !strings.Contains(to, ";tag=") {
		to += ";tag=" + toTag
	}
	return "SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\nVia: " + Header(req, "Via") +
		"\r\nFrom: " + Header(req, "From") + "\r\nTo: " + to +
		"\r\nCall-ID: " + Header(req, "Call-ID") + "\r\nCSeq: " + Header(req, "CSeq") +
		"\r\nContent-Length: 0\r\n\r\n"
}
