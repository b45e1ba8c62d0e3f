// Package lksignal is a client of LiveKit's signalling protocol (protocol
// 17, the single-PeerConnection join of livekit-server 1.9 and later): one
// WebSocket per participant carrying protobuf SignalRequest and
// SignalResponse messages. It knows the wire and the keepalive, nothing of
// rooms or media: the caller sends and handles the messages.
//
// It exists because the server SDK's client cannot share a webrtc.API, a
// UDP mux or a certificate between participants, nor leave out its data
// channels; the gateway's publish-only phone legs use this client with
// PeerConnections of their own.
package lksignal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	lkproto "github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// Protocol is the LiveKit signalling protocol version the client speaks,
// the server SDK v2.18.1's.
const Protocol = 17

// Version is what the client reports as its SDK version.
const Version = "roombridge-lean-1"

// Errors of package lksignal.
var (
	// ErrRefused: the server answered the WebSocket upgrade with an HTTP
	// error (401 for a refused token); the error text carries the status.
	ErrRefused = errors.New("lksignal: join refused")
	// ErrNoJoinResponse: the first message was not a JoinResponse.
	ErrNoJoinResponse = errors.New("lksignal: no join response")
	// ErrClosed: the connection is closed.
	ErrClosed = errors.New("lksignal: connection closed")
)

// Conn is one participant's signalling connection. Send is safe for
// concurrent use; Run reads until the connection ends.
type Conn struct {
	ws *websocket.Conn

	wmu    sync.Mutex // one writer at a time (gorilla's rule)
	closed atomic.Bool

	// Keepalive: a ping every pingInterval, and a read deadline of
	// pingTimeout that every message from the server moves on.
	pingInterval, pingTimeout time.Duration
	pingMu                    sync.Mutex
	pingTimer                 *time.Timer
}

// dialer is the WebSocket dialer of every connection: signalling is a few
// messages a minute, so a small read buffer each and write buffers shared
// by all connections between writes (gorilla keeps a 4 KiB buffer of each
// per connection by default: 8 KiB per phone leg).
var dialer = &websocket.Dialer{
	Proxy:            http.ProxyFromEnvironment,
	HandshakeTimeout: 45 * time.Second,
	ReadBufferSize:   1024,
	WriteBufferPool:  &sync.Pool{},
}

// Dial joins through url (ws(s):// or http(s)://) with token: join goes
// in the WebSocket URL uncompressed (WrappedJoinRequest NONE, which saves
// the gzip the SDK does), and the server's first message, the
// JoinResponse, is returned. A LeaveRequest instead of it (the room is
// full, the identity refused) is an error naming its reason.
func Dial(ctx context.Context, serverURL, token string, join *lkproto.JoinRequest) (*Conn, *lkproto.JoinResponse, error) {
	if join.ClientInfo == nil {
		join.ClientInfo = &lkproto.ClientInfo{Sdk: lkproto.ClientInfo_GO, Version: Version, Protocol: Protocol, Os: runtime.GOOS}
	}
	inner, err := proto.Marshal(join)
	if err != nil {
		return nil, nil, fmt.Errorf("lksignal: join request: %w", err)
	}
	wrapped, err := proto.Marshal(&lkproto.WrappedJoinRequest{Compression: lkproto.WrappedJoinRequest_NONE, JoinRequest: inner})
	if err != nil {
		return nil, nil, fmt.Errorf("lksignal: join request: %w", err)
	}
	u, err := rtcURL(serverURL)
	if err != nil {
		return nil, nil, err
	}
	u.RawQuery = url.Values{"join_request": {base64.URLEncoding.EncodeToString(wrapped)}}.Encode()
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	ws, resp, err := dialer.DialContext(ctx, u.String(), hdr)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_ = resp.Body.Close()
			return nil, nil, fmt.Errorf("%w: HTTP %d: %s", ErrRefused, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return nil, nil, fmt.Errorf("lksignal: dial: %w", err)
	}
	c := &Conn{ws: ws}
	// The first message bounded by ctx: a server that accepts the
	// WebSocket and says nothing must not hold the join.
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	res, err := c.read()
	stop()
	if err != nil {
		_ = ws.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, nil, fmt.Errorf("lksignal: join response: %w", err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	switch m := res.Message.(type) {
	case *lkproto.SignalResponse_Join:
		c.pingInterval = time.Duration(m.Join.PingInterval) * time.Second
		c.pingTimeout = time.Duration(m.Join.PingTimeout) * time.Second
		return c, m.Join, nil
	case *lkproto.SignalResponse_Leave:
		_ = ws.Close()
		return nil, nil, fmt.Errorf("%w: server sent leave: %s", ErrNoJoinResponse, m.Leave.GetReason())
	default:
		_ = ws.Close()
		return nil, nil, fmt.Errorf("%w: got %T", ErrNoJoinResponse, res.Message)
	}
}

// rtcURL is the signalling endpoint of a server URL.
func rtcURL(serverURL string) (*url.URL, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("lksignal: url: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/rtc"
	return u, nil
}

// read reads one SignalResponse; other WebSocket frames are skipped.
func (c *Conn) read() (*lkproto.SignalResponse, error) {
	for {
		typ, payload, err := c.ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		if typ != websocket.BinaryMessage {
			continue // LiveKit sends protobuf; JSON is for browsers that ask
		}
		res := &lkproto.SignalResponse{}
		if err := proto.Unmarshal(payload, res); err != nil {
			return nil, fmt.Errorf("lksignal: bad message: %w", err)
		}
		return res, nil
	}
}

// Send sends one request.
func (c *Conn) Send(req *lkproto.SignalRequest) error {
	if c.closed.Load() {
		return ErrClosed
	}
	b, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("lksignal: marshal: %w", err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// A write deadline so that a stalled server cannot hold a caller
	// (a Leave, a mute) for longer than the keepalive allows.
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.timeout()))
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return fmt.Errorf("lksignal: send: %w", err)
	}
	return nil
}

// timeout is how long the server may stay silent: its ping_timeout, or
// 15 s when it gave none.
func (c *Conn) timeout() time.Duration {
	if c.pingTimeout > 0 {
		return c.pingTimeout
	}
	return 15 * time.Second
}

// Run reads messages and hands each to handle, in order, on the calling
// goroutine, until the connection ends: it returns nil after Close, else
// why it ended (the server closed it, or said nothing for ping_timeout).
// It sends the keepalive pings the JoinResponse asked for meanwhile,
// from a timer rather than a goroutine of their own.
func (c *Conn) Run(handle func(*lkproto.SignalResponse)) error {
	c.schedulePing()
	defer c.stopPing()
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(c.timeout()))
		res, err := c.read()
		if err != nil {
			if c.closed.Load() {
				return nil
			}
			return fmt.Errorf("lksignal: connection lost: %w", err)
		}
		handle(res)
	}
}

func (c *Conn) schedulePing() {
	if c.pingInterval <= 0 {
		return
	}
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if c.closed.Load() {
		return
	}
	c.pingTimer = time.AfterFunc(c.pingInterval, c.ping)
}

func (c *Conn) ping() {
	now := time.Now().UnixMilli()
	if err := c.Send(&lkproto.SignalRequest{Message: &lkproto.SignalRequest_PingReq{PingReq: &lkproto.Ping{Timestamp: now}}}); err != nil {
		return // the reader sees the connection end
	}
	c.schedulePing()
}

func (c *Conn) stopPing() {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
}

// Close closes the connection (Run then returns nil). It is idempotent
// and does not wait for Run.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.stopPing()
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	return c.ws.Close()
}
