package baresip

import (
	"fmt"
	"net"

	"github.com/roombridge/roombridge/test/internal/ports"
)

// freeDualPort returns a loopback port free for both UDP and TCP whose
// next port is free for TCP too: baresip listens for SIP over TLS on
// sip_listen's port + 1, and quits ("ua: init failed") when that is taken.
func freeDualPort() (int, error) {
	for range 50 {
		p, err := ports.Dual()
		if err != nil {
			return 0, err
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err == nil {
			_ = ln.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: for SIP and the TLS port after it", ports.ErrNoneFree)
}

// freeUDPRange returns the first of n consecutive free UDP ports, below
// the harness's RTP ranges (40000-60000) and away from sippeer's.
func freeUDPRange(n int) (int, error) { return ports.UDPRange(10000, 2, 4500, n) }
