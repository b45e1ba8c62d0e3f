package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// Port ranges for RTP and WebRTC are handed out from a random base so that
// concurrent test processes rarely collide, and checked by binding every
// port of the range once.
const (
	rangeSize = 100
	rangeLow  = 40000
	rangeHigh = 60000
)

var ranges struct {
	mu   sync.Mutex
	next int
}

// freeTCPPort returns a loopback TCP port that was free a moment ago.
func freeTCPPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// freeDualPort returns a loopback port free for both TCP and UDP, as SIP
// listens on both with the same number.
func freeDualPort() (int, error) {
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
	return 0, fmt.Errorf("harness: no port free for both TCP and UDP")
}

// freeUDPRange returns [min, max] with rangeSize UDP ports, all free.
func freeUDPRange() (int, int, error) {
	ranges.mu.Lock()
	defer ranges.mu.Unlock()
	if ranges.next == 0 {
		ranges.next = rangeLow + rand.IntN((rangeHigh-rangeLow)/rangeSize)*rangeSize
	}
	for range (rangeHigh - rangeLow) / rangeSize {
		lo := ranges.next
		ranges.next += rangeSize
		if ranges.next+rangeSize > rangeHigh {
			ranges.next = rangeLow
		}
		if udpRangeFree(lo, lo+rangeSize-1) {
			return lo, lo + rangeSize - 1, nil
		}
	}
	return 0, 0, fmt.Errorf("harness: no free UDP port range")
}

func udpRangeFree(lo, hi int) bool {
	var open []net.PacketConn
	defer func() {
		for _, pc := range open {
			_ = pc.Close()
		}
	}()
	for p := lo; p <= hi; p++ {
		// Bind the wildcard address: the gateway may listen on any
		// interface for media, and a wildcard bind fails if any is taken.
		pc, err := net.ListenPacket("udp4", fmt.Sprintf(":%d", p))
		if err != nil {
			return false
		}
		open = append(open, pc)
	}
	return true
}
