// Package ports finds free loopback ports for the end-to-end tests' peers
// (the gateway, sipp, baresip), which bind them themselves a moment later.
package ports

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

// ErrNoneFree means no port (or range) was free after many tries.
var ErrNoneFree = errors.New("ports: none free")

// Dual returns a loopback port free for both TCP and UDP (a SIP listener
// binds both).
func Dual() (int, error) {
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		_ = ln.Close()
		if err == nil {
			_ = pc.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("%w: for both TCP and UDP", ErrNoneFree)
}

// UDPRange returns the first port p = base + step·k (k random below count)
// with p..p+n-1 all free for UDP.
func UDPRange(base, step, count, n int) (int, error) {
	for range 200 {
		p := base + step*rand.IntN(count)
		if UDPFree(p, p+n-1) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: %d UDP ports from %d", ErrNoneFree, n, base)
}

// UDPFree reports whether every UDP port lo..hi can be bound on the
// wildcard address (a peer may listen on any interface for media, and a
// wildcard bind fails if any address has the port).
func UDPFree(lo, hi int) bool {
	var open []net.PacketConn
	defer func() {
		for _, pc := range open {
			_ = pc.Close()
		}
	}()
	for p := lo; p <= hi; p++ {
		pc, err := net.ListenPacket("udp4", fmt.Sprintf(":%d", p))
		if err != nil {
			return false
		}
		open = append(open, pc)
	}
	return true
}
