package chrome

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/gorilla/websocket"
)

// ErrClosed is returned by calls on a connection that has gone away.
var ErrClosed = errors.New("chrome: connection closed")

// message is every CDP frame: a command, its response or an event.
type message struct {
	ID        int64           `json:"id,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data,omitempty"`
}

func (e *cdpError) Error() string {
	if e.Data != "" {
		return fmt.Sprintf("cdp error %d: %s (%s)", e.Code, e.Message, e.Data)
	}
	return fmt.Sprintf("cdp error %d: %s", e.Code, e.Message)
}

// eventFunc receives the events of one session. It runs on the reader
// goroutine, so it must not block or call back into the connection.
type eventFunc func(method string, params json.RawMessage)

// conn multiplexes commands and events of all sessions over the browser's
// WebSocket; one goroutine reads, writes are serialized.
type conn struct {
	ws  *websocket.Conn
	wmu sync.Mutex

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan message
	sessions map[string]eventFunc
	err      error
	done     chan struct{}
}

func dial(ctx context.Context, url string) (*conn, error) {
	ws, res, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if res != nil && res.Body != nil {
		// The handshake response body is empty; close it all the same.
		_ = res.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("chrome: dial %s: %w", url, err)
	}
	c := &conn{
		ws:       ws,
		pending:  map[int64]chan message{},
		sessions: map[string]eventFunc{},
		done:     make(chan struct{}),
	}
	go c.read()
	return c, nil
}

func (c *conn) read() {
	var err error
	defer func() {
		c.mu.Lock()
		c.err = errors.Join(ErrClosed, err)
		for id, ch := range c.pending {
			close(ch)
			delete(c.pending, id)
		}
		c.mu.Unlock()
		close(c.done)
	}()
	for {
		var m message
		if err = c.ws.ReadJSON(&m); err != nil {
			return
		}
		c.mu.Lock()
		if m.ID != 0 {
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		fn := c.sessions[m.SessionID]
		c.mu.Unlock()
		if fn != nil {
			fn(m.Method, m.Params)
		}
	}
}

// call sends a command to a session ("" is the browser) and decodes its
// result into result, if not nil.
func (c *conn) call(ctx context.Context, session, method string, params, result any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	if params == nil {
		raw = nil
	}
	ch := make(chan message, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()

	c.wmu.Lock()
	err = c.ws.WriteJSON(message{ID: id, SessionID: session, Method: method, Params: raw})
	c.wmu.Unlock()
	if err != nil {
		c.forget(id)
		return fmt.Errorf("chrome: %s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("chrome: %s: %w", method, ErrClosed)
		}
		if m.Error != nil {
			return fmt.Errorf("chrome: %s: %w", method, m.Error)
		}
		if result != nil && len(m.Result) > 0 {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-ctx.Done():
		c.forget(id)
		return fmt.Errorf("chrome: %s: %w", method, context.Cause(ctx))
	}
}

func (c *conn) forget(id int64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

func (c *conn) onEvents(session string, fn eventFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fn == nil {
		delete(c.sessions, session)
		return
	}
	c.sessions[session] = fn
}

func (c *conn) close() error {
	err := c.ws.Close()
	<-c.done
	return err
}
