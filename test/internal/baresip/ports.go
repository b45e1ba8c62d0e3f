package baresip

import "github.com/roombridge/roombridge/test/internal/ports"

// freeDualPort returns a loopback port free for both UDP and TCP.
func freeDualPort() (int, error) { return ports.Dual() }

// freeUDPRange returns the first of n consecutive free UDP ports, below
// the harness's RTP ranges (40000-60000) and away from sippeer's.
func freeUDPRange(n int) (int, error) { return ports.UDPRange(10000, 2, 4500, n) }
