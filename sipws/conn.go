package sipws

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Conn is one browser's SIP socket as sipgo sees it: a net.Conn whose Read
// yields the opening handshake and then one masked frame per SIP message,
// and whose Write takes sipgo's handshake response and frames and sends
// each message to the browser as a WebSocket text message.
//
// Goroutines: the HTTP handler that upgraded the socket runs [Conn.serve]
// (reading the browser) until the socket ends; pings run on a timer. Close
// may be called by anyone (sipgo, the listener, the reader) and is
// idempotent.
type Conn struct {
	l      *Listener
	ws     *websocket.Conn
	local  net.Addr
	remote net.Addr
	info   Info

	// sipgo reads what serve writes into the pipe; a pipe holds no buffer,
	// so an idle socket costs nothing here.
	pr *io.PipeReader
	pw *io.PipeWriter

	wmu sync.Mutex // sipgo's writes; frameDecoder state
	dec frameDecoder

	ping   *time.Timer
	closed atomic.Bool
	done   chan struct{}
	cause  error // why it closed; set before done is closed
}

// Info describes a socket, for logs and for legs that want to know who is
// behind a call (see [Listener.Lookup]).
type Info struct {
	Transport string // "WS" or "WSS", as sipgo names it
	Remote    string // the browser's address, sipgo's source of its messages
	Origin    string // the page that opened it; empty for non-browser clients
	UserAgent string // from the handshake
	Since     time.Time
}

var _ net.Conn = (*Conn)(nil)

func newConn(l *Listener, ws *websocket.Conn, info Info) *Conn {
	pr, pw := io.Pipe()
	nc := ws.NetConn()
	c := &Conn{
		l: l, ws: ws, info: info,
		local: nc.LocalAddr(), remote: nc.RemoteAddr(),
		pr: pr, pw: pw,
		dec:  frameDecoder{max: l.cfg.MaxMessage},
		done: make(chan struct{}),
	}
	// Armed only once c.ping is set, so sendPing never sees it nil.
	c.ping = time.AfterFunc(time.Duration(math.MaxInt64), c.sendPing)
	c.ping.Reset(l.cfg.PingInterval)
	return c
}

// Info returns what is known about the socket.
func (c *Conn) Info() Info { return c.info }

// Read is sipgo reading: the handshake, then frames.
func (c *Conn) Read(b []byte) (int, error) { return c.pr.Read(b) }

// Write is sipgo writing its handshake response and frames; each complete
// message goes to the browser under WriteTimeout.
func (c *Conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	if err := c.dec.write(b, c.send); err != nil {
		c.l.log.Debug("sipws: closing socket", "remote", c.info.Remote, "err", err)
		go c.closeWith(websocket.CloseInternalServerErr, err)
		return 0, err
	}
	return len(b), nil
}

// send writes one message to the browser.
func (c *Conn) send(msg []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.l.cfg.WriteTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
		go c.closeWith(0, fmt.Errorf("write: %w", err))
		return err
	}
	return nil
}

// LocalAddr is the listener's socket address: the one sipgo writes into our
// Via and Contact.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the browser's address: sipgo's source of its messages and
// the key of its connection pool.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline and friends are accepted and ignored: sipgo sets them only
// with its ReadTimeout and WriteTimeout options, which stay off because
// this package bounds writes itself and watches silence with pings.
func (c *Conn) SetDeadline(time.Time) error      { return nil }
func (c *Conn) SetReadDeadline(time.Time) error  { return nil }
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

// Close closes the socket with a normal close frame; sipgo calls it when
// its pool drops the connection.
func (c *Conn) Close() error {
	c.closeWith(websocket.CloseNormalClosure, nil)
	return nil
}

// Done is closed once the socket is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// closeWith sends a close frame with code (none when 0), closes the
// socket and ends sipgo's read with EOF. Only the first call acts.
func (c *Conn) closeWith(code int, cause error) {
	if c.closed.Swap(true) {
		return
	}
	c.ping.Stop()
	if code != 0 {
		text := ""
		if cause != nil && code != websocket.CloseInternalServerErr {
			text = cause.Error()
		}
		// WriteControl may run beside a WriteMessage (gorilla allows it).
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, truncate(text, 120)),
			time.Now().Add(time.Second))
	}
	_ = c.ws.Close()
	_ = c.pw.Close() // sipgo's Read gets io.EOF: a clean close to it
	c.cause = cause
	close(c.done)
}

// serve forwards the browser's messages to sipgo until the socket ends.
// It runs on the HTTP handler's goroutine.
func (c *Conn) serve() {
	silence := c.l.cfg.silenceTimeout()
	extend := func(string) error { return c.ws.SetReadDeadline(time.Now().Add(silence)) }
	_ = extend("")
	c.ws.SetPongHandler(extend)
	c.ws.SetReadLimit(int64(c.l.cfg.MaxMessage))

	if _, err := io.WriteString(c.pw, sipgoHandshake); err != nil {
		c.closeWith(websocket.CloseGoingAway, err)
		return
	}
	var hdr [maxFrameHeader]byte
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				c.closeWith(websocket.CloseGoingAway, ErrSilent)
			case errors.Is(err, websocket.ErrReadLimit):
				c.closeWith(websocket.CloseMessageTooBig, err)
			default:
				c.closeWith(0, err)
			}
			return
		}
		_ = extend("")
		switch classify(msg) {
		case msgPing:
			if err := c.reply([]byte("\r\n")); err != nil {
				return
			}
			continue
		case msgKeepalive:
			continue
		case msgSIP:
		default:
			c.l.stats.notSIP.Add(1)
			c.l.log.Debug("sipws: not a SIP message, closing", "remote", c.info.Remote, "bytes", len(msg))
			c.closeWith(websocket.CloseProtocolError, ErrNotSIP)
			return
		}
		// Header and payload go in two writes; sipgo reads them as one frame.
		if _, err := c.pw.Write(appendFrameHeader(hdr[:0], len(msg))); err != nil {
			return
		}
		if _, err := c.pw.Write(msg); err != nil {
			return
		}
	}
}

// reply sends a keep-alive answer, serialized with sipgo's writes.
func (c *Conn) reply(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.send(msg)
}

// sendPing runs on the ping timer.
func (c *Conn) sendPing() {
	if c.closed.Load() {
		return
	}
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.l.cfg.WriteTimeout)); err != nil {
		c.closeWith(0, fmt.Errorf("ping: %w", err))
		return
	}
	c.ping.Reset(c.l.cfg.PingInterval)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
