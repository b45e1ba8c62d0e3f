package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// CallHandler handles accepted calls.
type CallHandler interface {
	// HandleCall runs in its own goroutine for each accepted INVITE. The call
	// lives as long as HandleCall: when it returns, the server hangs up (BYE
	// once answered, a final error response before) and frees the call.
	HandleCall(call *IncomingCall)
}

// CallHandlerFunc adapts a function to [CallHandler].
type CallHandlerFunc func(call *IncomingCall)

// HandleCall calls f(call).
func (f CallHandlerFunc) HandleCall(call *IncomingCall) { f(call) }

// BoundAddr is a socket the server serves.
type BoundAddr struct {
	Transport string // "udp", "tcp", "tls", "ws" or "wss"
	Addr      net.Addr
}

// String returns the address as a Config.Listen entry ("udp://127.0.0.1:5060").
func (a BoundAddr) String() string { return a.Transport + "://" + a.Addr.String() }

// Server is a SIP user-agent server for incoming calls.
type Server struct {
	cfg     Config
	specs   []listenSpec
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	nonces  *nonceStore
	limiter *rateLimiter
	stats   counters

	// handlers answer each method sipgo hands us, noRoute the others;
	// every one goes through guard first.
	handlers map[sip.RequestMethod]sipgo.RequestHandler
	noRoute  sipgo.RequestHandler

	// ctx is the parent of every call's context; cancelled by Close.
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu         sync.Mutex
	closing    bool                     // no new calls or sockets
	calls      map[string]*IncomingCall // by dialog ID (RFC 3261 §12)
	trunkCalls map[*Trunk]int           // calls in progress per trunk with MaxCalls
	inviting   map[string]string        // initial INVITEs in progress: Call-ID, From tag and CSeq → Via branch
	sockets    []io.Closer
	addrs      []BoundAddr
	callWG     sync.WaitGroup // one per call handler
	serveWG    sync.WaitGroup // one per served socket

	closed   atomic.Bool
	done     chan struct{}
	closeErr error
}

// NewServer checks cfg and makes a server; sockets are bound by
// [Server.Listen] or passed to [Server.ServeUDP], [Server.ServeTCP] and
// [Server.ServeTLS].
func NewServer(cfg Config) (*Server, error) {
	cfg, specs, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		specs:   specs,
		log:     cfg.Logger,
		limiter: newRateLimiter(),
		calls:   make(map[string]*IncomingCall),

		trunkCalls: make(map[*Trunk]int),
		inviting:   make(map[string]string),
		done:       make(chan struct{}),
	}
	if s.nonces, err = newNonceStore(cfg.NonceTTL); err != nil {
		return nil, err
	}
	sipLog := cfg.Logger.With("component", "sipgo")
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgenTLSConfig(cfg.TLSConfig),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(sipLog),
			sip.WithTransactionLayerUnhandledResponseHandler(s.handleStrayResponse),
		),
	)
	if err != nil {
		return nil, err
	}
	if s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(sipLog)); err != nil {
		return nil, errors.Join(err, s.ua.Close())
	}
	if s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientLogger(sipLog)); err != nil {
		return nil, errors.Join(err, s.ua.Close())
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	s.handlers = map[sip.RequestMethod]sipgo.RequestHandler{
		sip.INVITE:   s.guard(s.onInvite),
		sip.ACK:      s.guard(s.handleAck),
		sip.BYE:      s.guard(s.handleBye),
		sip.CANCEL:   s.guard(s.handleCancel),
		sip.OPTIONS:  s.guard(s.handleOptions),
		sip.INFO:     s.guard(s.handleInfo),
		sip.UPDATE:   s.guard(s.handleUpdate),
		sip.REGISTER: s.guard(s.handleRegister),
	}
	s.noRoute = s.guard(s.handleNoRoute)
	for m, h := range s.handlers {
		s.srv.OnRequest(m, h)
	}
	s.srv.OnNoRoute(s.noRoute)
	return s, nil
}

// Listen binds the sockets of Config.Listen; [Server.Addrs] then reports
// them. Serve them with [Server.Serve].
func (s *Server) Listen() error {
	for _, sp := range s.specs {
		var err error
		switch sp.network {
		case "udp":
			var pc net.PacketConn
			if pc, err = net.ListenPacket("udp", sp.addr); err == nil {
				err = s.addSocket("udp", pc, pc.LocalAddr())
			}
		case "tcp", "tls":
			var l net.Listener
			if l, err = net.Listen("tcp", sp.addr); err == nil {
				err = s.addSocket(sp.network, l, l.Addr())
			}
		}
		if err != nil {
			return fmt.Errorf("sip: listen %s://%s: %w", sp.network, sp.addr, err)
		}
	}
	return nil
}

// ListenAndServe is [Server.Listen] then [Server.Serve].
func (s *Server) ListenAndServe(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return errors.Join(err, s.Close())
	}
	return s.Serve(ctx)
}

// Serve serves the sockets bound by [Server.Listen] until ctx is done or
// [Server.Close] is called, then closes the server and returns.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	socks := append([]io.Closer(nil), s.sockets...)
	addrs := append([]BoundAddr(nil), s.addrs...)
	s.mu.Unlock()
	for i, sock := range socks {
		if t := addrs[i].Transport; t == "ws" || t == "wss" {
			continue // served by the ServeWS or ServeWSS call that added it
		}
		switch v := sock.(type) {
		case net.PacketConn:
			go func() { _ = s.serve(func() error { return s.srv.ServeUDP(v) }) }()
		case net.Listener:
			if addrs[i].Transport == "tls" {
				tl := tls.NewListener(v, s.cfg.TLSConfig)
				go func() { _ = s.serve(func() error { return s.srv.ServeTLS(tl) }) }()
			} else {
				go func() { _ = s.serve(func() error { return s.srv.ServeTCP(v) }) }()
			}
		}
	}
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	return s.Close()
}

// ServeUDP serves SIP over UDP on pc until the server closes; the server
// owns pc.
func (s *Server) ServeUDP(pc net.PacketConn) error {
	if err := s.addSocket("udp", pc, pc.LocalAddr()); err != nil {
		return err
	}
	return s.serve(func() error { return s.srv.ServeUDP(pc) })
}

// ServeTCP serves SIP over TCP on l until the server closes; the server
// owns l.
func (s *Server) ServeTCP(l net.Listener) error {
	if err := s.addSocket("tcp", l, l.Addr()); err != nil {
		return err
	}
	return s.serve(func() error { return s.srv.ServeTCP(l) })
}

// ServeTLS serves SIP over TLS on the plain TCP listener l, with
// Config.TLSConfig, until the server closes; the server owns l.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLSConfig == nil {
		return fmt.Errorf("%w: ServeTLS needs TLSConfig", ErrInvalidConfig)
	}
	if err := s.addSocket("tls", l, l.Addr()); err != nil {
		return err
	}
	tl := tls.NewListener(l, s.cfg.TLSConfig)
	return s.serve(func() error { return s.srv.ServeTLS(tl) })
}

// ServeWS serves SIP over WebSocket (RFC 7118) until the server closes;
// the server owns l. l yields connections that already speak WebSocket
// framing, as sipws.Listener does (it checks each handshake and keeps the
// sockets alive); sipgo then reads one SIP message per frame and keeps each
// connection in its WS pool, keyed by the client's address, for responses
// and requests inside the dialog.
func (s *Server) ServeWS(l net.Listener) error { return s.serveWebSocket("ws", l, s.srv.ServeWS) }

// ServeWSS is [Server.ServeWS] for a listener whose sockets run over TLS
// (wss://); sipgo marks their messages "WSS". l does the TLS itself.
func (s *Server) ServeWSS(l net.Listener) error { return s.serveWebSocket("wss", l, s.srv.ServeWSS) }

func (s *Server) serveWebSocket(transport string, l net.Listener, serve func(net.Listener) error) error {
	if err := s.addSocket(transport, l, l.Addr()); err != nil {
		return err
	}
	return s.serve(func() error { return serve(l) })
}

// addSocket records a socket so that Close closes it and Addrs reports it.
func (s *Server) addSocket(transport string, c io.Closer, addr net.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		_ = c.Close()
		return ErrServerClosed
	}
	s.sockets = append(s.sockets, c)
	s.addrs = append(s.addrs, BoundAddr{Transport: transport, Addr: addr})
	return nil
}

// serve runs a sipgo serve loop, tracked so that Close waits for it.
func (s *Server) serve(run func() error) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.serveWG.Add(1)
	s.mu.Unlock()
	defer s.serveWG.Done()
	err := run()
	if s.closed.Load() {
		return ErrServerClosed
	}
	return err
}

// Addrs returns the sockets the server serves, in the order they were added.
func (s *Server) Addrs() []BoundAddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BoundAddr(nil), s.addrs...)
}

// Shutdown stops taking calls (new INVITEs get 503), waits for the calls in
// progress to end or ctx to be done, then closes the server.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	idle := make(chan struct{})
	go func() {
		s.callWG.Wait()
		close(idle)
	}()
	select {
	case <-idle:
	case <-ctx.Done():
	}
	return s.Close()
}

// Close ends every call (each handler's context is cancelled with
// [ErrServerClosed]; the server hangs up once the handler returns), waits
// for the handlers, closes the sockets and sipgo's transaction and transport
// layers, and waits for everything the server started. It is idempotent.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		<-s.done
		return s.closeErr
	}
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel(ErrServerClosed)
	s.callWG.Wait()

	var errs []error
	s.mu.Lock()
	for _, c := range s.sockets {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.mu.Unlock()
	if err := s.ua.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, err)
	}
	s.serveWG.Wait()
	s.closeErr = errors.Join(errs...)
	close(s.done)
	return s.closeErr
}

// register adds a call to the dialog table, unless the server is closing
// (ErrServerClosed) or the call's trunk has Trunk.MaxCalls calls up
// (errTrunkFull).
func (s *Server) register(c *IncomingCall) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrServerClosed
	}
	if t := c.trunk; t != nil && t.MaxCalls > 0 {
		if s.trunkCalls[t] >= t.MaxCalls {
			return errTrunkFull
		}
		s.trunkCalls[t]++
	}
	s.calls[c.id] = c
	s.callWG.Add(1)
	s.stats.active.Add(1)
	return nil
}

// unregister removes a finished call.
func (s *Server) unregister(c *IncomingCall) {
	s.mu.Lock()
	delete(s.calls, c.id)
	if t := c.trunk; t != nil && t.MaxCalls > 0 {
		if s.trunkCalls[t]--; s.trunkCalls[t] <= 0 {
			delete(s.trunkCalls, t)
		}
	}
	s.mu.Unlock()
	s.stats.active.Add(-1)
	s.callWG.Done()
}

// dispatch runs the handler of req's method, as sipgo's server does.
func (s *Server) dispatch(req *sip.Request, tx sip.ServerTransaction) {
	if h, ok := s.handlers[req.Method]; ok {
		h(req, tx)
		return
	}
	s.noRoute(req, tx)
}

// lookup finds the call a request inside a dialog belongs to (RFC 3261
// §12.2.2), nil if none.
func (s *Server) lookup(req *sip.Request) *IncomingCall {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// claimRequest marks an initial INVITE as in progress until release is
// called. merged reports that another INVITE with the same Call-ID, From
// tag and CSeq but a different Via branch is in progress: the same request
// arriving twice by different paths (RFC 3261 §8.2.2.2), answered 482.
// Retransmissions share the branch and never get here: sipgo's
// transaction layer absorbs them.
func (s *Server) claimRequest(req *sip.Request) (merged bool, release func()) {
	fromTag, _ := req.From().Params.Get("tag")
	key := callIDOf(req) + "\x00" + fromTag + "\x00" + strconv.FormatUint(uint64(req.CSeq().SeqNo), 10)
	branch := ""
	if via := req.Via(); via != nil {
		branch, _ = via.Params.Get("branch")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.inviting[key]; ok && b != branch {
		return true, func() {}
	}
	s.inviting[key] = branch
	return false, func() {
		s.mu.Lock()
		delete(s.inviting, key)
		s.mu.Unlock()
	}
}
