package test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// TestSIPFloodFromOneSource: while 127.0.0.2, a source of no trusted
// trunk, floods the gateway with 1000 INVITEs a second to a room that does
// not exist, a trunk at 127.0.0.1 (sipp, 40 calls at 10 a second) gets
// every call answered. The flooder gets the few answers its per-source
// rate allows and silence for the rest; the drops are counted.
func TestSIPFloodFromOneSource(t *testing.T) {
	srv := startSIPGateway(t, `
trunks:
  - { name: sbc, allow: [127.0.0.1/32], trusted: true }
  - { name: internet, allow: [0.0.0.0/0] }
`)
	flooder, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	defer flooder.Close()
	dst, err := net.ResolveUDPAddr("udp", srv.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	floodStart := time.Now()
	var sent, answered int
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sent = flood(ctx, flooder, dst, 1000)
	}()
	go func() {
		defer wg.Done()
		answered = countAnswers(ctx, flooder)
	}()

	// The trunk's calls start once the flood is being dropped.
	waitFor(ctx, t, func() bool {
		n, _ := strconv.ParseFloat(scrape(ctx, t, srv, `roombridge_sip_dropped_total{reason="rate_limit"}`), 64)
		return n > 200
	})
	start := time.Now()
	code := sippeer.Run(t, sippeer.Options{
		Scenario: "short_call.xml",
		Remote:   srv.SIPAddr,
		Service:  "demo",
		Domain:   sipDomain,
		Pause:    500 * time.Millisecond,
		Timeout:  60 * time.Second,
		Args:     []string{"-m", "40", "-r", "10", "-l", "40"},
	})
	elapsed := time.Since(start)
	stop()
	_ = flooder.Close()
	wg.Wait()
	if code != sippeer.ExitOK {
		t.Errorf("trunk calls during the flood: sipp exit %d (%s)", code, sippeer.ExitReason(code))
	}
	rate := float64(sent) / time.Since(floodStart).Seconds()
	t.Logf("flood: %d INVITEs (%.0f/s) from 127.0.0.2, %d answers; trunk: 40 calls in %v", sent, rate, answered, elapsed.Round(time.Millisecond))
	if rate < 500 {
		t.Errorf("the flood reached only %.0f INVITEs/s; the test needs hundreds", rate)
	}
	if answered > sent/10 {
		t.Errorf("the flooder got %d answers to %d INVITEs: a flood must mostly meet silence", answered, sent)
	}
	dropped, _ := strconv.ParseFloat(scrape(context.Background(), t, srv, `roombridge_sip_dropped_total{reason="rate_limit"}`), 64)
	if dropped < float64(sent)/2 {
		t.Errorf("roombridge_sip_dropped_total{rate_limit} = %v for %d flood INVITEs", dropped, sent)
	}
}

// flood sends perSecond INVITEs a second to dst, each a new call to a room
// that does not exist, until ctx ends; it returns how many it sent.
func flood(ctx context.Context, c net.PacketConn, dst net.Addr, perSecond int) int {
	local := c.LocalAddr().String()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
		for range perSecond / 100 {
			n++
			msg := fmt.Sprintf("INVITE sip:nosuchroom@%[2]s SIP/2.0\r\n"+
				"Via: SIP/2.0/UDP %[1]s;branch=z9hG4bK-flood-%[3]d\r\n"+
				"Max-Forwards: 70\r\n"+
				"From: <sip:flood@%[1]s>;tag=f%[3]d\r\n"+
				"To: <sip:nosuchroom@%[2]s>\r\n"+
				"Call-ID: flood-%[3]d\r\n"+
				"CSeq: 1 INVITE\r\n"+
				"Contact: <sip:flood@%[1]s>\r\n"+
				"Content-Length: 0\r\n\r\n", local, dst.String(), n)
			_, _ = c.WriteTo([]byte(msg), dst)
		}
	}
}

// countAnswers counts the final responses the flooder gets, one per call.
func countAnswers(ctx context.Context, c net.PacketConn) int {
	calls := map[string]bool{}
	buf := make([]byte, 65536)
	for ctx.Err() == nil {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			break
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, "SIP/2.0 1") {
			continue
		}
		for _, l := range strings.Split(msg, "\r\n") {
			if id, ok := strings.CutPrefix(l, "Call-ID: "); ok {
				calls[id] = true
			}
		}
	}
	return len(calls)
}
