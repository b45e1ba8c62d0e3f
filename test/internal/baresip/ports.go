package baresip

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

// freeDualPort returns a loopback port free for both UDP and TCP: sipp
// binds its -p port on the transport it uses.
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
	return 0, errors.New("baresip: no port free for both TCP and UDP")
}

// freeUDPRange returns the first of n consecutive free UDP ports, below
// the harness's RTP ranges (40000-60000) and away from sippeer's.
func freeUDPRange(n int) (int, error) {
	for range 200 {
		p := 10000 + 2*rand.IntN(4500)
		if udpFree(p, p+n-1) {
			return p, nil
		}
	}
	return 0, errors.New("baresip: no free RTP port range")
}

func udpFree(lo, hi int) bool {
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
