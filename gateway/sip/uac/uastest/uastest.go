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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/pion/srtp/v3"
	"go.uber.org/goleak"

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

func (s *Server) contactFor(req *sip.Request) sip.ContactHeader {
	addr := s.udp
	var params sip.HeaderParams
	switch strings.ToLower(req.Transport()) {
	case "tcp":
		addr, params = s.tcp, sip.HeaderParams{{K: "transport", V: "tcp"}}
	case "tls":
		addr, params = s.tls, sip.HeaderParams{{K: "transport", V: "tls"}}
	}
	h, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	return sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uas", Host: h, Port: port, UriParams: params}}
}

func (s *Server) allow() string {
	if s.cfg.NoUpdate {
		return "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
	}
	return "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.onReInvite(req, tx)
		return
	}
	if s.cfg.Password != "" && !s.authorized(req) {
		res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		chal := digest.Challenge{Realm: "uastest", Nonce: s.nonce, Algorithm: "MD5", QOP: []string{"auth"}}
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
		_ = tx.Respond(res)
		return
	}
	dlg, err := s.dsc.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Error", nil))
		return
	}
	contact := s.contactFor(req)
	if s.cfg.RingFor > 0 {
		_ = dlg.Respond(180, "Ringing", nil, sip.HeaderClone(&contact))
		select {
		case <-time.After(s.cfg.RingFor):
		case <-dlg.Context().Done():
			return // cancelled
		case <-s.ctx.Done():
			return
		}
	}
	if s.cfg.Reject != 0 {
		_ = dlg.Respond(s.cfg.Reject, reason(s.cfg.Reject), nil)
		return
	}
	c := &call{dlg: dlg, contact: contact}
	var body []byte
	if offerBody := req.Body(); len(offerBody) > 0 {
		body, err = s.answer(c, offerBody)
		if err != nil {
			_ = dlg.Respond(488, "Not Acceptable Here", nil)
			return
		}
	} else {
		body, err = s.offer(c)
		if err != nil {
			_ = dlg.Respond(500, "Server Error", nil)
			return
		}
	}
	res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, body)
	res.AppendHeader(sip.HeaderClone(&contact))
	res.AppendHeader(sip.NewHeader("Allow", s.allow()))
	if s.cfg.SessionExpires > 0 {
		res.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uac", int(s.cfg.SessionExpires/time.Second))))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	callID := req.CallID().Value()
	s.mu.Lock()
	if s.closed {
		closeMedia := c.take()
		s.mu.Unlock()
		closeMedia()
		return
	}
	s.calls[callID] = c
	s.answered++
	s.mu.Unlock()
	if err := dlg.WriteResponse(res); err != nil {
		s.drop(callID)
		return
	}
	if s.cfg.HangupAfter > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-time.After(s.cfg.HangupAfter):
			case <-dlg.Context().Done():
				return
			case <-s.ctx.Done():
				return
			}
			ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			defer cancel()
			_ = dlg.Bye(ctx)
			s.drop(callID)
		}()
	}
}

// answer answers the caller's offer and starts the echo.
func (s *Server) answer(c *call, offerBody []byte) ([]byte, error) {
	offer, err := sdp.Parse(offerBody)
	if err != nil {
		return nil, err
	}
	ports, err := s.pool.Allocate()
	if err != nil {
		return nil, err
	}
	ans, err := sdp.Answer(offer, s.policy(ports))
	if err != nil {
		_ = ports.Close()
		return nil, err
	}
	if s.cfg.Silent {
		c.ports = ports // not shared yet; closed with the call
	} else if err := s.startEcho(c, ports, ans, offer, ans.Audio, offer.Audio); err != nil {
		_ = ports.Close()
		return nil, err
	}
	c.local = ans
	return ans.Marshal(), nil
}

// offer makes our offer for a delayed-offer INVITE; media starts with the
// answer in the ACK.
func (s *Server) offer(c *call) ([]byte, error) {
	ports, err := s.pool.Allocate()
	if err != nil {
		return nil, err
	}
	off, err := sdp.Offer(s.policy(ports))
	if err != nil {
		_ = ports.Close()
		return nil, err
	}
	c.offer, c.local, c.ports = off, off, ports
	return off.Marshal(), nil
}

func (s *Server) policy(ports *rtp.PortPair) sdp.Policy {
	return sdp.Policy{
		Codecs: s.cfg.Codecs, SRTP: sdp.SRTPAllow,
		Suites: []sdp.CryptoSuite{sdp.AES_CM_128_HMAC_SHA1_80, sdp.AES_CM_128_HMAC_SHA1_32},
		Addr:   ports.RTPAddr().Addr(), AudioPort: int(ports.RTPAddr().Port()), Username: "uastest",
	}
}

// startEcho starts the RTP session of a call. remote is nil until the
// peer's SDP is known.
func (s *Server) startEcho(c *call, ports *rtp.PortPair, local, remote *sdp.Session, lm, rm *sdp.Media) error {
	codec := lm.Codecs[0]
	cfg := rtp.SessionConfig{
		Ports:        ports,
		PayloadType:  codec.PT,
		ClockRate:    codec.ClockRate,
		Timeout:      rtp.NoTimeout,
		RTCPInterval: s.cfg.RTCPInterval,
	}
	if remote != nil {
		cfg.Remote, cfg.RemoteRTCP = remote.RTPAddr(rm), remote.RTCPAddr(rm)
		if lm.Secure() {
			keys, err := srtpKeys(rm, lm)
			if err != nil {
				return err
			}
			cfg.SRTP = keys
		}
	}
	var sess atomic.Pointer[rtp.Session]
	onRTP := s.cfg.OnRTP
	cfg.Handler = rtp.HandlerFunc(func(pkt *rtp.Packet) {
		if onRTP != nil {
			onRTP(pkt)
		}
		if m := sess.Load(); m != nil {
			_ = m.WriteRTP(pkt.Payload, pkt.PayloadType, pkt.Timestamp, pkt.Marker)
		}
	})
	m, err := rtp.NewSession(cfg)
	if err != nil {
		return err
	}
	sess.Store(m)
	s.mu.Lock()
	if s.closed || s.calls[c.dlg.InviteRequest.CallID().Value()] != c && c.offer != nil {
		// The call ended (or the server closed) while we started.
		s.mu.Unlock()
		_ = m.Close()
		return nil
	}
	c.media = m
	s.mu.Unlock()
	return nil
}

// srtpKeys pairs the SDES keys: the offer's line encrypts what the
// offerer sends (RFC 4568 §6.1).
func srtpKeys(offer, answer *sdp.Media) (*rtp.SRTPKeys, error) {
	ok, ak, found := sdp.MatchCrypto(offer, answer)
	if !found {
		return nil, sdp.ErrNoCommonCrypto
	}
	return &rtp.SRTPKeys{
		Profile:  srtp.ProtectionProfile(ak.Suite.ProfileID()),
		LocalKey: ak.MasterKey(), LocalSalt: ak.MasterSalt(),
		RemoteKey: ok.MasterKey(), RemoteSalt: ok.MasterSalt(),
	}, nil
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	_ = s.dsc.ReadAck(req, tx)
	if len(req.Body()) == 0 {
		return
	}
	s.mu.Lock()
	c := s.calls[req.CallID().Value()]
	s.mu.Unlock()
	if c == nil || c.offer == nil {
		return
	}
	// The answer to our delayed offer: start the echo.
	ans, err := sdp.Parse(req.Body())
	if err != nil || sdp.AcceptAnswer(c.offer, ans) != nil {
		return
	}
	s.mu.Lock()
	ports := c.ports
	c.ports = nil
	s.mu.Unlock()
	if ports == nil {
		return
	}
	if err := s.startEcho(c, ports, c.offer, ans, c.offer.Audio, ans.Audio); err != nil {
		_ = ports.Close()
	}
}

func (s *Server) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	s.mu.Lock()
	c := s.calls[req.CallID().Value()]
	if c != nil {
		if req.GetHeader("Session-Expires") != nil {
			s.refreshes++
		} else {
			s.reinvites++
		}
	}
	s.mu.Unlock()
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	body := c.local.Marshal()
	if len(req.Body()) > 0 {
		if offer, err := sdp.Parse(req.Body()); err == nil {
			p := sdp.Policy{
				Codecs: s.cfg.Codecs, SRTP: sdp.SRTPAllow, Addr: c.local.ConnAddr,
				AudioPort: c.local.Audio.Port, Previous: c.local, Username: "uastest",
			}
			if ans, err := sdp.Answer(offer, p); err == nil {
				body = ans.Marshal()
			}
		}
	}
	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(sip.HeaderClone(&c.contact))
	if se := req.GetHeader("Session-Expires"); se != nil {
		res.AppendHeader(sip.NewHeader("Session-Expires", se.Value()))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	_ = tx.Respond(res)
}

func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	s.mu.Lock()
	c := s.calls[req.CallID().Value()]
	if c != nil {
		s.refreshes++
	}
	s.mu.Unlock()
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.HeaderClone(&c.contact))
	if se := req.GetHeader("Session-Expires"); se != nil {
		res.AppendHeader(sip.NewHeader("Session-Expires", se.Value()))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	_ = tx.Respond(res)
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	dlg, err := s.dsc.MatchDialogRequest(req)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	s.mu.Lock()
	s.byes++ // before the 200, so that the caller's Hangup sees it counted
	s.mu.Unlock()
	s.drop(req.CallID().Value())
	_ = dlg.ReadBye(req, tx)
}

func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	s.mu.Lock()
	s.infos = append(s.infos, Info{ContentType: ct, Body: string(req.Body())})
	s.mu.Unlock()
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// drop ends a call's media.
func (s *Server) drop(callID string) {
	s.mu.Lock()
	c := s.calls[callID]
	delete(s.calls, callID)
	closeMedia := func() {}
	if c != nil {
		closeMedia = c.take()
	}
	s.mu.Unlock()
	closeMedia()
}

// take detaches the call's media (s.mu held) and returns what closes it.
func (c *call) take() func() {
	media, ports := c.media, c.ports
	c.media, c.ports = nil, nil
	return func() {
		if media != nil {
			_ = media.Close()
		}
		if ports != nil {
			_ = ports.Close()
		}
	}
}

// authorized checks the INVITE's digest credentials against our nonce.
func (s *Server) authorized(req *sip.Request) bool {
	h := req.GetHeader("Authorization")
	if h == nil {
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Nonce != s.nonce || cred.Username != s.cfg.Username {
		return false
	}
	chal := &digest.Challenge{Realm: "uastest", Nonce: s.nonce, Algorithm: "MD5", QOP: []string{"auth"}}
	want, err := digest.Digest(chal, digest.Options{
		Method: "INVITE", URI: cred.URI, Username: s.cfg.Username,
		Password: s.cfg.Password, Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	return err == nil && want.Response == cred.Response
}

func reason(code int) string {
	switch code {
	case 486:
		return "Busy Here"
	case 603:
		return "Decline"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	}
	return "Failed"
}

// selfSigned makes a certificate for 127.0.0.1.
func selfSigned() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}, nil
}

// ClientTLS is a client TLS config that trusts the server's certificate.
func (s *Server) ClientTLS() *tls.Config { return s.clientTLS.Clone() }

// Offer is an SDP offer (PCMU) for a port nobody listens on, for tests of
// signalling.
func Offer(t testing.TB) []byte {
	t.Helper()
	s, err := sdp.Offer(sdp.Policy{Codecs: []sdp.Codec{sdp.PCMU}, Addr: netip.MustParseAddr("127.0.0.1"), AudioPort: 40000})
	if err != nil {
		t.Fatal(err)
	}
	return s.Marshal()
}

// Main runs the tests of a package that places SIP calls on loopback: SIP
// timers short enough for quick timeouts (64*T1 = 3.2 s), sipgo's global
// logger discarded, and goleak's check that no goroutine outlives the
// tests. sipgo's UDP readers are left out of the check: sipgo may open a
// socket of its own when a late retransmission reaches a closing user
// agent, and close it only with the next traffic.
func Main(m *testing.M) {
	sip.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readConnection"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}
