package sipws

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Listener accepts SIP WebSocket clients on a TCP socket and hands each to
// sipgo as a [Conn]. Pass it to sipgo's ServeWS (transport "WS") or
// ServeWSS (when Config.TLS is set): the HTTP side starts with sipgo's first
// Accept, and Close (which sipgo's server calls when it closes) ends both.
type Listener struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener
	srv *http.Server
	up  websocket.Upgrader

	startOnce sync.Once
	serving   atomic.Bool
	serveErr  chan error
	accept    chan *Conn
	closed    chan struct{}
	closeOnce sync.Once

	mu    sync.Mutex
	perIP map[netip.Addr]int
	conns map[string]*Conn // by remote address, as sipgo keys its pool
	wg    sync.WaitGroup   // one per HTTP handler holding a socket

	stats counters
}

var _ net.Listener = (*Listener)(nil)

// New makes a listener serving ln (a plain TCP listener; TLS comes from
// Config.TLS). The listener owns ln from then on.
func New(ln net.Listener, cfg Config) (*Listener, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Listener{
		cfg:      cfg,
		log:      cfg.Logger,
		ln:       ln,
		serveErr: make(chan error, 1),
		accept:   make(chan *Conn),
		closed:   make(chan struct{}),
		perIP:    make(map[netip.Addr]int),
		conns:    make(map[string]*Conn),
	}
	l.up = websocket.Upgrader{
		HandshakeTimeout: cfg.HandshakeTimeout,
		Subprotocols:     []string{"sip"},
		// Checked before Upgrade, so the refusal can be counted and
		// logged with its reason.
		CheckOrigin: func(*http.Request) bool { return true },
		// Idle sockets hold no write buffer: one is borrowed per write.
		WriteBufferPool: &sync.Pool{},
	}
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: cfg.HandshakeTimeout,
		ReadTimeout:       cfg.HandshakeTimeout,
		IdleTimeout:       cfg.HandshakeTimeout,
		MaxHeaderBytes:    16 << 10,
		TLSConfig:         cfg.TLS,
		// No HTTP/2: WebSocket needs HTTP/1.1 (RFC 6455 §4.1).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	return l, nil
}

// Transport is the name sipgo gives this listener's messages: "WS", or
// "WSS" with TLS.
func (l *Listener) Transport() string {
	if l.cfg.TLS != nil {
		return "WSS"
	}
	return "WS"
}

// Addr is the TCP socket's address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Accept returns the next upgraded socket, for sipgo. The first call starts
// the HTTP server.
func (l *Listener) Accept() (net.Conn, error) {
	l.startOnce.Do(l.start)
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *Listener) start() {
	select {
	case <-l.closed:
		return
	default:
	}
	l.serving.Store(true)
	go func() {
		var err error
		if l.cfg.TLS != nil {
			err = l.srv.ServeTLS(l.ln, "", "")
		} else {
			err = l.srv.Serve(l.ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		l.serveErr <- err
	}()
}

// Close stops accepting, closes every socket (close code 1001) and waits
// for their handlers. It is idempotent.
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closed)
		l.startOnce.Do(func() {}) // a later Accept must not start serving
		err = l.srv.Close()       // closes ln and connections not yet upgraded
		if l.serving.Load() {
			err = errors.Join(err, <-l.serveErr)
		} else {
			err = errors.Join(err, l.ln.Close())
		}
		l.mu.Lock()
		conns := make([]*Conn, 0, len(l.conns))
		for _, c := range l.conns {
			conns = append(conns, c)
		}
		l.mu.Unlock()
		for _, c := range conns {
			c.closeWith(websocket.CloseGoingAway, ErrClosed)
		}
		l.wg.Wait()
	})
	return err
}

// ServeHTTP checks a client's opening handshake, upgrades it, and serves
// the socket until it ends. It can also be mounted in another HTTP server.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		l.refuse(w, r, http.StatusUpgradeRequired, ErrNotUpgrade)
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && (l.cfg.CheckOrigin == nil || !l.cfg.CheckOrigin(origin, r)) {
		l.refuse(w, r, http.StatusForbidden, ErrOrigin)
		return
	}
	if !slices.Contains(websocket.Subprotocols(r), "sip") {
		l.refuse(w, r, http.StatusBadRequest, ErrSubprotocol)
		return
	}
	ip := remoteIP(r)
	if !l.reserve(ip) {
		w.Header().Set("Retry-After", "10")
		l.refuse(w, r, http.StatusTooManyRequests, ErrTooManyConns)
		return
	}
	ws, err := l.up.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has answered the client already.
		l.release(ip)
		l.stats.refused(err)
		l.log.Debug("sipws: upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	c := newConn(l, ws, Info{
		Transport: l.Transport(),
		Remote:    ws.NetConn().RemoteAddr().String(),
		Origin:    r.Header.Get("Origin"),
		UserAgent: r.UserAgent(),
		Since:     time.Now(),
	})
	if !l.add(c) {
		l.release(ip)
		c.closeWith(websocket.CloseGoingAway, ErrClosed)
		return
	}
	defer l.remove(c, ip)
	l.log.Debug("sipws: socket open", "transport", c.info.Transport, "remote", c.info.Remote, "origin", c.info.Origin)
	select {
	case l.accept <- c:
	case <-l.closed:
		c.closeWith(websocket.CloseGoingAway, ErrClosed)
		return
	}
	c.serve()
	<-c.done
	l.log.Debug("sipws: socket closed", "remote", c.info.Remote, "cause", c.cause)
}

// Lookup returns what is known about the socket sipgo knows by remote
// (a message's source, "ip:port"), while it is open.
func (l *Listener) Lookup(remote string) (Info, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.conns[remote]
	if !ok {
		return Info{}, false
	}
	return c.info, true
}

func (l *Listener) refuse(w http.ResponseWriter, r *http.Request, status int, err error) {
	l.stats.refused(err)
	l.log.Debug("sipws: handshake refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "status", status, "err", err)
	http.Error(w, fmt.Sprintf("%d %s: %v", status, http.StatusText(status), err), status)
}

// reserve counts a socket against its source address.
func (l *Listener) reserve(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxPerIP > 0 && l.perIP[ip] >= l.cfg.MaxPerIP {
		return false
	}
	l.perIP[ip]++
	return true
}

func (l *Listener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseLocked(ip)
}

func (l *Listener) releaseLocked(ip netip.Addr) {
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

// add registers an open socket unless the listener is closed.
func (l *Listener) add(c *Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		return false
	default:
	}
	l.conns[c.info.Remote] = c
	l.wg.Add(1)
	l.stats.open.Add(1)
	return true
}

// remove forgets a closed socket and frees its source address's slot.
func (l *Listener) remove(c *Conn, ip netip.Addr) {
	l.mu.Lock()
	if l.conns[c.info.Remote] == c {
		delete(l.conns, c.info.Remote)
	}
	l.releaseLocked(ip)
	l.mu.Unlock()
	l.stats.open.Add(-1)
	if l.cfg.OnClose != nil {
		l.cfg.OnClose(c.info.Remote)
	}
	l.wg.Done()
}

func remoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Stats are the listener's counters, for metrics.
type Stats struct {
	Open    int64            // sockets open now
	Refused map[string]int64 // handshakes refused, by reason
	NotSIP  int64            // sockets closed for a non-SIP message
}

type counters struct {
	open                                     atomic.Int64
	origin, subprotocol, perIP, upgrade, bad atomic.Int64
	notSIP                                   atomic.Int64
}

func (c *counters) refused(err error) {
	switch {
	case errors.Is(err, ErrOrigin):
		c.origin.Add(1)
	case errors.Is(err, ErrSubprotocol):
		c.subprotocol.Add(1)
	case errors.Is(err, ErrTooManyConns):
		c.perIP.Add(1)
	case errors.Is(err, ErrNotUpgrade):
		c.bad.Add(1)
	default:
		c.upgrade.Add(1)
	}
}

// Stats returns a snapshot of the counters.
func (l *Listener) Stats() Stats {
	return Stats{
		Open: l.stats.open.Load(),
		Refused: map[string]int64{
			"origin":      l.stats.origin.Load(),
			"subprotocol": l.stats.subprotocol.Load(),
			"per_ip":      l.stats.perIP.Load(),
			"not_upgrade": l.stats.bad.Load(),
			"handshake":   l.stats.upgrade.Load(),
		},
		NotSIP: l.stats.notSIP.Load(),
	}
}
