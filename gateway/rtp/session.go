package rtp

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	pionrtp "github.com/pion/rtp"
)

// Session is the RTP endpoint of one SIP leg. Create it with NewSession;
// it runs until Close. Its methods are safe for concurrent use.
//
// Goroutines: one reads the RTP socket (and, with RTCPMux, RTCP too), one
// reads the RTCP socket when RTCP is not multiplexed, and one sends RTCP
// reports and watches for inactivity. Close stops and waits for all three.
type Session struct {
	cfg      SessionConfig
	log      *slog.Logger
	ports    *PortPair
	rtpConn  *net.UDPConn
	rtcpConn *net.UDPConn // nil with RTCPMux
	ssrc     uint32
	cname    string
	srtp     atomic.Pointer[srtpContexts] // nil for plain RTP; replaced by Rekey
	rekeyMu  sync.Mutex                   // serialises Rekey
	handler  Handler
	start    time.Time // monotonic base of nanos()

	ctx       context.Context
	cancel    context.CancelCauseFunc
	wg        sync.WaitGroup
	closed    atomic.Bool
	closeDone chan struct{}
	closeErr  error

	// Send side. txMu guards the header, sequence number, counters and the
	// SRTP send context; it is never held across a socket write.
	txMu        sync.Mutex
	txHdr       pionrtp.Header
	txEncHdr    pionrtp.Header // scratch for EncryptRTP
	seq         uint16
	sentPackets uint64
	sentOctets  uint64
	lastTS      uint32
	lastSend    int64 // nanos(); 0: nothing sent yet
	bufs        sync.Pool

	rtcpTxMu sync.Mutex // guards the SRTCP send context

	// Receive side: reception state, latching, what the peer's reports
	// said. Guarded by mu, which the send path never takes.
	mu              sync.Mutex
	rx              reception
	rtpLatch        latch
	rtcpLatch       latch
	rtcpSelfLatched bool              // rtcpLatch moved on RTCP's own packets
	sdpRemote       [2]netip.AddrPort // RTP and RTCP addresses last given by SDP
	rxPackets       uint64
	rxOctets        uint64
	lostBefore      int64 // of sources before an SSRC change
	expectedBefore  int64
	ssrcChanges     int
	lastRTP         int64 // nanos() of the last RTP packet, 0: none
	lsr             uint32
	lsrAt           int64
	peer            peerReport
	rtt             time.Duration
	decryptErrors   uint64

	lastRx         atomic.Int64 // nanos() of the last RTP or RTCP
	timeoutEnabled atomic.Bool
	timedOut       atomic.Bool
	onTimeout      atomic.Pointer[func()]
	onRTCP         atomic.Pointer[func(rtcp.Packet)]
	onSSRC         atomic.Pointer[func(old, new uint32)]
}

// peerReport is the last report block the peer sent about our stream.
type peerReport struct {
	have     bool
	reports  uint64
	fraction uint8
	lost     int32
	jitter   uint32
}

// NewSession starts the RTP endpoint of a leg on cfg.Ports. On error the
// ports are left open for the caller to close.
func NewSession(cfg SessionConfig) (*Session, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	s := &Session{
		cfg:       cfg,
		ports:     cfg.Ports,
		rtpConn:   cfg.Ports.RTP,
		ssrc:      cfg.SSRC,
		cname:     cfg.CNAME,
		handler:   cfg.Handler,
		start:     time.Now(),
		closeDone: make(chan struct{}),
		seq:       uint16(rand.Uint32()), // RFC 3550 §5.1: random initial sequence number
	}
	if !cfg.RTCPMux {
		s.rtcpConn = cfg.Ports.RTCP
	}
	if cfg.SRTP != nil {
		c, err := newSRTPContexts(cfg.SRTP)
		if err != nil {
			return nil, err
		}
		s.srtp.Store(c)
	}
	for s.ssrc == 0 {
		var b [4]byte
		_, _ = crand.Read(b[:]) // never fails (crypto/rand docs)
		s.ssrc = binary.BigEndian.Uint32(b[:])
	}
	if s.cname == "" {
		s.cname = crand.Text()
	}
	if s.handler == nil {
		s.handler = HandlerFunc(func(*Packet) {})
	}
	s.bufs.New = func() any {
		b := make([]byte, sendBufferSize)
		return &b
	}
	s.log = cfg.Logger.With("rtp_local", cfg.Ports.RTPAddr(), "ssrc", s.ssrc)
	s.rtpLatch.set(cfg.Remote)
	s.rtcpLatch.set(s.defaultRTCPAddr(cfg.Remote, cfg.RemoteRTCP))
	s.sdpRemote = [2]netip.AddrPort{cfg.Remote, cfg.RemoteRTCP}
	s.timeoutEnabled.Store(cfg.Timeout > 0)
	s.ctx, s.cancel = context.WithCancelCause(context.Background())

	s.wg.Add(2)
	go s.readLoop(s.rtpConn, true)
	go s.controlLoop()
	if s.rtcpConn != nil {
		s.wg.Add(1)
		go s.readLoop(s.rtcpConn, false)
	}
	s.log.Debug("rtp session started", "remote", cfg.Remote, "rtcp_mux", cfg.RTCPMux,
		"srtp", cfg.SRTP != nil, "pt", cfg.PayloadType, "clock", cfg.ClockRate)
	return s, nil
}

// defaultRTCPAddr is where RTCP goes before the peer sends any: a=rtcp if
// given (RFC 3605), the RTP address with rtcp-mux (RFC 5761), else the
// port above the RTP port (RFC 3550 §11).
func (s *Session) defaultRTCPAddr(rtpAddr, rtcpAddr netip.AddrPort) netip.AddrPort {
	switch {
	case s.cfg.RTCPMux:
		return rtpAddr
	case rtcpAddr.IsValid():
		return rtcpAddr
	case rtpAddr.IsValid() && rtpAddr.Port() < 65535:
		return netip.AddrPortFrom(rtpAddr.Addr(), rtpAddr.Port()+1)
	}
	return netip.AddrPort{}
}

// SSRC is our synchronisation source.
func (s *Session) SSRC() uint32 { return s.ssrc }

// LocalAddr is the address of our RTP socket, for SDP.
func (s *Session) LocalAddr() netip.AddrPort { return s.ports.RTPAddr() }

// SetRemote points the session at a new peer address, as a re-INVITE's
// SDP says; rtcpAddr may be zero (see SessionConfig.RemoteRTCP). Latching
// starts over: the first valid packet from the peer decides again.
// Addresses equal to those SDP gave before change nothing, so a re-INVITE
// for hold or a session refresh does not undo a latch onto a NAT address.
func (s *Session) SetRemote(rtpAddr, rtcpAddr netip.AddrPort) {
	if rtpAddr.IsValid() {
		rtpAddr = normalize(rtpAddr)
	}
	if rtcpAddr.IsValid() {
		rtcpAddr = normalize(rtcpAddr)
	}
	s.mu.Lock()
	if s.sdpRemote == [2]netip.AddrPort{rtpAddr, rtcpAddr} {
		s.mu.Unlock()
		return
	}
	s.sdpRemote = [2]netip.AddrPort{rtpAddr, rtcpAddr}
	s.rtpLatch.set(rtpAddr)
	s.rtcpLatch.set(s.defaultRTCPAddr(rtpAddr, rtcpAddr))
	s.rtcpSelfLatched = false
	s.mu.Unlock()
	s.log.Info("rtp remote set", "remote", rtpAddr, "remote_rtcp", rtcpAddr)
}

// OnTimeout sets the function called once when neither RTP nor RTCP has
// arrived for the configured Timeout. It runs on a goroutine of its own,
// so it may block (to send a BYE) and may call Close.
// It may run concurrently with, or just after, Close. A nil f removes it.
func (s *Session) OnTimeout(f func()) { storeFunc(&s.onTimeout, f, f == nil) }

// OnRTCP sets the function that sees every RTCP packet the peer sends,
// after the session has used it: PLI and FIR for video legs, BYE, APP. It
// runs on a reader goroutine and must not call Close; the packets are not
// reused and may be kept.
func (s *Session) OnRTCP(f func(rtcp.Packet)) { storeFunc(&s.onRTCP, f, f == nil) }

// OnSSRCChange sets the function called when the peer starts sending with
// a new SSRC, as trunks do after a re-INVITE or a transfer. Reception
// statistics restart for the new source; the packets keep flowing. It runs
// on the reader goroutine and must not call Close.
func (s *Session) OnSSRCChange(f func(old, new uint32)) { storeFunc(&s.onSSRC, f, f == nil) }

// storeFunc publishes a hook; a nil one is stored as a nil pointer, which
// the callers check, so it is never called.
func storeFunc[F any](p *atomic.Pointer[F], f F, isNil bool) {
	if isNil {
		p.Store(nil)
		return
	}
	p.Store(&f)
}

// SetTimeoutEnabled suspends or resumes the inactivity timeout, for hold:
// a peer we put on sendonly or inactive may stop sending (RFC 3264 §8.4).
// Resuming starts a fresh Timeout period.
func (s *Session) SetTimeoutEnabled(on bool) {
	if s.cfg.Timeout <= 0 {
		return
	}
	if on {
		s.lastRx.Store(s.nanos())
	}
	s.timeoutEnabled.Store(on)
}

// Done is closed when the session is closing; Cause says why.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }

// Cause is why the session closed (ErrClosed for Close, or the cause given
// to CloseWithCause), nil while it runs.
func (s *Session) Cause() error { return context.Cause(s.ctx) }

// Close sends an RTCP BYE, closes the sockets (returning them to their
// pool) and waits for the session's goroutines. It is idempotent; later
// calls wait for the first and return its result.
func (s *Session) Close() error { return s.CloseWithCause(ErrClosed) }

// CloseWithCause is Close, recording cause as the reason.
func (s *Session) CloseWithCause(cause error) error {
	if s.closed.Swap(true) {
		<-s.closeDone
		return s.closeErr
	}
	if cause == nil {
		cause = ErrClosed
	}
	s.cancel(cause) // stops the control loop
	var errs []error
	// RFC 3550 §6.6: a BYE, in a compound packet with a report.
	if err := s.sendReport(true); err != nil && !errors.Is(err, ErrNoRemote) {
		errs = append(errs, err)
	}
	errs = append(errs, s.ports.Close()) // unblocks the readers
	s.wg.Wait()
	s.closeErr = errors.Join(errs...)
	st := s.Stats()
	s.log.Info("rtp session closed", "cause", context.Cause(s.ctx),
		"rx_packets", st.PacketsReceived, "tx_packets", st.PacketsSent,
		"lost", st.PacketsLost, "jitter", st.Jitter, "rtt", st.RTT, "err", s.closeErr)
	close(s.closeDone)
	return s.closeErr
}

// nanos is the monotonic time since the session started. Zero means
// "never" in the fields that hold it, so it is at least 1.
func (s *Session) nanos() int64 {
	return max(int64(time.Since(s.start)), 1)
}
