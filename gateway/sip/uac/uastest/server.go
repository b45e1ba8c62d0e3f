// Package uastest is an in-process SIP user-agent server for tests of
// callers: it answers INVITEs over UDP, TCP and TLS on loopback, echoes
// the caller's RTP (or SRTP) back to it, and can be told to ring, reject,
// challenge with digest, hang up or run a session timer. It records what
// the caller sent (INFO bodies, refreshes, re-INVITEs, RTP packets) for
// the test to check.
//
// It is test support, not a model of a SIP server: see gateway/sip.
package uastest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
)

// Config tells the server how to treat calls.
type Config struct {
	// Username and Password, when set, make every INVITE without valid
	// digest credentials get a 401 challenge (RFC 3261 §22.2).
	Username, Password string
	// Reject answers every INVITE with this final status (e.g. 486).
	Reject int
	// RingFor sends 180 Ringing and waits this long before answering.
	RingFor time.Duration
	// HangupAfter sends BYE this long after the call is answered.
	HangupAfter time.Duration
	// SessionExpires puts "Session-Expires: N;refresher=uac" in the 2xx,
	// making the caller the refresher (RFC 4028).
	SessionExpires time.Duration
	// NoUpdate leaves UPDATE out of Allow, so refreshes come as re-INVITEs.
	NoUpdate bool
	// Codecs is the answer preference; PCMU, PCMA, G722 when empty.
	Codecs []sdp.Codec
	// RTCPInterval of the echo sessions; 500 ms when zero.
	RTCPInterval time.Duration
	// Silent answers and then sends nothing at all, RTP or RTCP: a peer
	// that died after answering (its ports stay bound until the call
	// ends).
	Silent bool
	// OnRTP sees every RTP packet that arrives, before it is echoed. The
	// packet is reused afterwards: copy what must be kept.
	OnRTP func(pkt *rtp.Packet)
	// Logger gets sipgo's logs; nil discards them.
	Logger *slog.Logger
}

// Info is an INFO request the server received.
type Info struct {
	ContentType string
	Body        string
}

// Server is a running test UAS. Close (registered with t.Cleanup) stops it.
type Server struct {
	cfg       Config
	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	dsc       *sipgo.DialogServerCache
	pool      *rtp.PortPool
	clientTLS *tls.Config

	udp, tcp, tls string // listen addresses

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	calls     map[string]*call // by Call-ID
	infos     []Info
	reinvites int
	refreshes int
	byes      int
	answered  int
	closed    bool

	nonce   string
	closers []func()
}

type call struct {
	dlg     *sipgo.DialogServerSession
	media   *rtp.Session
	local   *sdp.Session
	offer   *sdp.Session  // ours, for a delayed offer
	ports   *rtp.PortPair // offered, until the ACK's answer starts the echo
	contact sip.ContactHeader
}

// Start starts a server on loopback and registers its Close with
// t.Cleanup.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a server on loopback; the caller must Close it.
func New(cfg Config) (*Server, error) {
	if len(cfg.Codecs) == 0 {
		cfg.Codecs = []sdp.Codec{sdp.PCMU, sdp.PCMA, sdp.G722}
	}
	if cfg.RTCPInterval == 0 {
		cfg.RTCPInterval = 500 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	serverTLS, clientTLS, err := selfSigned()
	if err != nil {
		return nil, err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("uastest"), sipgo.WithUserAgenTLSConfig(clientTLS),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)))
	if err != nil {
		return nil, err
	}
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(log))
	pool, err := rtp.NewPortPool(netip.MustParseAddr("127.0.0.1"), 42000, 43998)
	if err != nil {
		_ = ua.Close()
		return nil, err
	}
	var nb [8]byte
	_, _ = rand.Read(nb[:])
	s := &Server{
		cfg: cfg, ua: ua, srv: srv, pool: pool, clientTLS: clientTLS,
		calls: map[string]*call{}, nonce: hex.EncodeToString(nb[:]),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.dsc = sipgo.NewDialogServerCache(cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uas", Host: "127.0.0.1"}})

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		_ = ua.Close()
		return nil, err
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = ua.Close()
		_ = pc.Close()
		return nil, err
	}
	sl, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		_ = ua.Close()
		_ = pc.Close()
		_ = tl.Close()
		return nil, err
	}
	s.udp, s.tcp, s.tls = pc.LocalAddr().String(), tl.Addr().String(), sl.Addr().String()

	srv.OnInvite(s.onInvite)
	srv.OnAck(s.onAck)
	srv.OnBye(s.onBye)
	srv.OnInfo(s.onInfo)
	srv.OnUpdate(s.onUpdate)

	s.wg.Add(3)
	go func() { defer s.wg.Done(); _ = srv.ServeUDP(pc) }()
	go func() { defer s.wg.Done(); _ = srv.ServeTCP(tl) }()
	go func() { defer s.wg.Done(); _ = srv.ServeTLS(sl) }()
	s.closers = []func(){func() { _ = pc.Close() }, func() { _ = tl.Close() }, func() { _ = sl.Close() }}
	return s, nil
}

// Close stops the server: it closes the echo sessions and the sockets and
// waits for its goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	var closers []func()
	for _, c := range s.calls {
		closers = append(closers, c.take())
	}
	s.calls = map[string]*call{}
	s.mu.Unlock()
	s.cancel()
	for _, f := range closers {
		f()
	}
	// Stop reading before closing the stack: a message handled after
	// sipgo's transport is closed would make it open a new socket.
	for _, f := range s.closers {
		f()
	}
	s.wg.Wait()
	_ = s.ua.Close()
}

// URI is a Request-URI for user over transport ("udp", "tcp", "tls").
func (s *Server) URI(user, transport string) string {
	switch transport {
	case "tcp":
		return "sip:" + user + "@" + s.tcp + ";transport=tcp"
	case "tls":
		return "sip:" + user + "@" + s.tls + ";transport=tls"
	}
	return "sip:" + user + "@" + s.udp
}

// Infos returns the INFO requests received so far.
func (s *Server) Infos() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Info(nil), s.infos...)
}

// Counts returns how many calls were answered, re-INVITEs (other than
// refreshes) and session refreshes (UPDATE or re-INVITE with
// Session-Expires) arrived, and BYEs from callers.
func (s *Server) Counts() (answered, reinvites, refreshes, byes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered, s.reinvites, s.refreshes, s.byes
}

// Active is the number of calls not yet ended.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}
