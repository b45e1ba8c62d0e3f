// Package sipprobe sends the one SIP request a load balancer sends to see
// whether a node takes calls: OPTIONS over UDP, retransmitted until a final
// answer comes (RFC 3261 §17.1.2), as Kamailio's dispatcher probes do.
package sipprobe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
)

// ErrNoAnswer: no final response came before the context ended.
var ErrNoAnswer = errors.New("sipprobe: no final answer to OPTIONS")

// Options sends OPTIONS sip:addr over UDP and returns the final status.
func Options(ctx context.Context, addr string) (int, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	branch := fmt.Sprintf("z9hG4bK%016x", rand.Uint64())
	msg := []byte("OPTIONS sip:" + addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=" + branch + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:probe@" + local + ">;tag=" + branch[7:15] + "\r\n" +
		"To: <sip:" + addr + ">\r\n" +
		"Call-ID: " + branch + "@probe\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n")
	buf := make([]byte, 4096)
	for ctx.Err() == nil {
		if _, err := conn.Write(msg); err != nil {
			return 0, err
		}
		_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := conn.Read(buf)
		if err != nil {
			continue // lost, refused or not answered yet: send again
		}
		var code int
		if _, err := fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code); err == nil && code >= 200 {
			return code, nil
		}
	}
	return 0, fmt.Errorf("%w from %s: %w", ErrNoAnswer, addr, context.Cause(ctx))
}
