package rtp

import (
	"net/netip"
	"sync/atomic"
)

// relatchPackets is how many valid packets in a row must come from a new
// address before we move our sending there. One is enough to latch the
// first time (nothing better is known); after that a few in a row keep a
// stray or spoofed packet from stealing the stream, while a phone that
// roams or a NAT that rebinds is followed within ~100 ms of 20 ms audio.
const relatchPackets = 4

// latch is symmetric-RTP state for one socket (RFC 4961; "comedia"): where
// we send, and whether the peer has been seen sending from there.
//
// dst is read without locks by the send path; the rest is guarded by
// Session.mu and changed only by the reader goroutine and SetRemote.
type latch struct {
	dst atomic.Pointer[netip.AddrPort] // nil: unknown

	latched   bool // a valid packet arrived from dst
	candidate netip.AddrPort
	count     int
}

// load returns the send address, or false when it is unknown.
func (l *latch) load() (netip.AddrPort, bool) {
	p := l.dst.Load()
	if p == nil {
		return netip.AddrPort{}, false
	}
	return *p, true
}

// set points the latch at addr (from SDP), to be confirmed or replaced by
// the first valid packet. A zero addr means unknown.
func (l *latch) set(addr netip.AddrPort) {
	l.latched = false
	l.candidate = netip.AddrPort{}
	l.count = 0
	if !addr.IsValid() {
		l.dst.Store(nil)
		return
	}
	l.store(addr)
}

// store publishes a new send address. The copy is made here, on a change
// only, so that observe's argument does not escape and the per-packet
// path stays allocation-free.
func (l *latch) store(addr netip.AddrPort) {
	p := new(netip.AddrPort)
	*p = addr
	l.dst.Store(p)
}

// observe records a valid packet from src and reports whether the send
// address moved, and from where.
func (l *latch) observe(src netip.AddrPort) (old netip.AddrPort, moved bool) {
	cur, known := l.load()
	if known && cur == src {
		l.latched = true
		l.count = 0
		return netip.AddrPort{}, false
	}
	if l.latched {
		if src == l.candidate {
			l.count++
		} else {
			l.candidate, l.count = src, 1
		}
		if l.count < relatchPackets {
			return netip.AddrPort{}, false
		}
	}
	l.latched = true
	l.candidate, l.count = netip.AddrPort{}, 0
	l.store(src)
	return cur, true
}

// normalize maps an IPv4-mapped IPv6 source (a dual-stack socket) to plain
// IPv4 so it compares equal to the address from SDP.
func normalize(a netip.AddrPort) netip.AddrPort {
	if a.Addr().Is4In6() {
		return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	}
	return a
}
