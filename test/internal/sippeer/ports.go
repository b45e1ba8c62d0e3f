package sippeer

import "github.com/roombridge/roombridge/test/internal/ports"

// freeDualPort returns a loopback port free for both UDP and TCP: sipp
// binds its -p port on the transport it uses.
func freeDualPort() (int, error) { return ports.Dual() }

// freeMediaPort returns an even UDP port p with p..p+3 free: sipp binds
// the audio port and the video port two above it, each with RTCP beside.
// The range is below the harness's RTP ranges (40000-60000).
func freeMediaPort() (int, error) { return ports.UDPRange(20000, 4, 4000, 4) }

// freePorts is a SIP port (freeDualPort) and a media port (freeMediaPort).
func freePorts() (sip, media int, err error) {
	if sip, err = freeDualPort(); err != nil {
		return 0, 0, err
	}
	media, err = freeMediaPort()
	return sip, media, err
}
