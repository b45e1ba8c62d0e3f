package rtp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// PortPool hands out RTP/RTCP port pairs from a range on one local address.
// RTP takes the even port and RTCP the odd one above it (RFC 3550 §11).
//
// Allocation is round robin: the search starts after the pair handed out
// last, so a port that was just released is not reused at once and late
// packets of an ended call do not reach the next one. Ports that another
// process holds are skipped. A PortPool is safe for concurrent use.
type PortPool struct {
	ip       netip.Addr
	network  string
	min, max uint16 // min is even, max is the last usable RTCP port

	mu    sync.Mutex
	next  int    // index of the pair to try first
	used  []bool // by pair index
	inUse int
}

// NewPortPool returns a pool of the pairs within [min, max] on ip, which may
// be IPv4 or IPv6 and may be unspecified (0.0.0.0, ::) to listen on all
// addresses. An odd min is rounded up; a pair must fit entirely in range.
func NewPortPool(ip netip.Addr, min, max uint16) (*PortPool, error) {
	if !ip.IsValid() {
		return nil, fmt.Errorf("%w: no IP address", ErrInvalidRange)
	}
	if min%2 == 1 {
		if min == 65535 {
			return nil, fmt.Errorf("%w: %d-%d", ErrInvalidRange, min, max)
		}
		min++
	}
	if min == 0 || max <= min {
		return nil, fmt.Errorf("%w: %d-%d", ErrInvalidRange, min, max)
	}
	pairs := (int(max) - int(min) + 1) / 2
	network := "udp4"
	if ip.Is6() && !ip.Is4In6() {
		network = "udp6"
	}
	return &PortPool{
		ip:      ip.Unmap(),
		network: network,
		min:     min,
		max:     min + uint16(pairs*2-1),
		used:    make([]bool, pairs),
	}, nil
}

// Size is the number of pairs in the pool.
func (p *PortPool) Size() int { return len(p.used) }

// InUse is the number of pairs handed out and not yet closed. Export it as a
// gauge, e.g. prometheus.NewGaugeFunc(opts, func() float64 { return
// float64(pool.InUse()) }).
func (p *PortPool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// Allocate binds the next free pair and returns it. It returns an error
// wrapping ErrNoPorts when no pair in the range can be bound.
//
// The sockets are bound while the pool lock is held: allocation happens
// once per call, and holding the lock keeps two callers from racing for the
// same pair.
func (p *PortPool) Allocate() (*PortPair, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range len(p.used) {
		i := p.next
		p.next = (p.next + 1) % len(p.used)
		if p.used[i] {
			continue
		}
		port := p.min + uint16(i*2)
		rtpConn, err := p.listen(port)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				continue // someone else's; try the next pair
			}
			return nil, err
		}
		rtcpConn, err := p.listen(port + 1)
		if err != nil {
			_ = rtpConn.Close()
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, err
		}
		p.used[i] = true
		p.inUse++
		return &PortPair{RTP: rtpConn, RTCP: rtcpConn, pool: p, index: i}, nil
	}
	return nil, fmt.Errorf("%w in %s %d-%d", ErrNoPorts, p.ip, p.min, p.max)
}

func (p *PortPool) listen(port uint16) (*net.UDPConn, error) {
	c, err := net.ListenUDP(p.network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, port)))
	if err != nil {
		return nil, fmt.Errorf("rtp: bind %s: %w", netip.AddrPortFrom(p.ip, port), err)
	}
	return c, nil
}

func (p *PortPool) release(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used[i] {
		p.used[i] = false
		p.inUse--
	}
}

// PortPair is a bound RTP socket and the RTCP socket on the port above it.
// Closing it closes both and returns the pair to its pool.
type PortPair struct {
	RTP  *net.UDPConn
	RTCP *net.UDPConn

	pool      *PortPool // nil for NewPortPair
	index     int
	closeOnce sync.Once
	closeErr  error
}

// NewPortPair wraps sockets the caller bound itself (tests, a fixed port) so
// they can be given to a Session. rtcp may be nil when RTCP is multiplexed
// on the RTP port (RFC 5761).
func NewPortPair(rtp, rtcp *net.UDPConn) *PortPair {
	return &PortPair{RTP: rtp, RTCP: rtcp}
}

// RTPAddr is the local address of the RTP socket, for the SDP m= line.
func (pp *PortPair) RTPAddr() netip.AddrPort {
	return localAddrPort(pp.RTP)
}

// RTCPAddr is the local address of the RTCP socket (RFC 3605 a=rtcp), or
// the zero value when there is none.
func (pp *PortPair) RTCPAddr() netip.AddrPort {
	if pp.RTCP == nil {
		return netip.AddrPort{}
	}
	return localAddrPort(pp.RTCP)
}

// Close closes both sockets and releases the pair to its pool. It is
// idempotent; later calls return the first result.
func (pp *PortPair) Close() error {
	pp.closeOnce.Do(func() {
		var errs []error
		if pp.RTP != nil {
			errs = append(errs, pp.RTP.Close())
		}
		if pp.RTCP != nil {
			errs = append(errs, pp.RTCP.Close())
		}
		if pp.pool != nil {
			pp.pool.release(pp.index)
		}
		pp.closeErr = errors.Join(errs...)
	})
	return pp.closeErr
}

func localAddrPort(c *net.UDPConn) netip.AddrPort {
	if c == nil {
		return netip.AddrPort{}
	}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.AddrPort()
	}
	return netip.AddrPort{}
}
