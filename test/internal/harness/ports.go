package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"

	freeports "github.com/roombridge/roombridge/test/internal/ports"
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
func freeDualPort() (int, error) { return freeports.Dual() }

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

func udpRangeFree(lo, hi int) bool { return freeports.UDPFree(lo, hi) }
