package sippeer

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// UASOptions describe sipp as a server: a carrier, registrar or SBC the
// gateway calls out to. It serves every call (each new Call-ID runs the
// scenario from its start) until the test ends.
type UASOptions struct {
	// Scenario is a file name in test/sipp, such as "carrier_answer.xml".
	Scenario string
	// Transport is "udp" (default) or "tcp".
	Transport string
	// Keys are passed as -key name value, for the scenario's [name].
	Keys map[string]string
	// Args are added to sipp's command line.
	Args []string
}

// UAS is a running sipp server.
type UAS struct {
	*Process
	// Addr is the loopback host:port it listens on.
	Addr string
}

// StartUAS starts sipp as a server for t, on a free loopback port, and
// kills it when t ends. sipp binds its port before it reads anything, and
// SIP retransmits, so callers need not wait for it.
func StartUAS(t testing.TB, o UASOptions) *UAS {
	t.Helper()
	bin, dir := prepare(t, o.Scenario)
	port, media, err := freePorts()
	if err != nil {
		t.Fatal(err)
	}
	transport := "u1"
	switch o.Transport {
	case "", "udp":
	case "tcp":
		transport = "t1"
	default:
		t.Fatalf("sippeer: transport %q", o.Transport)
	}
	args := []string{
		"-sf", filepath.Join(dir, o.Scenario),
		"-t", transport,
		"-i", "127.0.0.1", "-mi", "127.0.0.1",
		"-p", strconv.Itoa(port), "-mp", strconv.Itoa(media),
		"-nostdin",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
	}
	for k, v := range o.Keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, o.Args...)
	p := spawn(t, bin, dir, args, "sippeer UAS "+o.Scenario)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if o.Transport == "tcp" {
		if err := waitTCP(addr, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return &UAS{Process: p, Addr: addr}
}

// Received returns the start lines of the requests sipp received (or the
// status lines of the responses it sent, with sent), in order.
func (u *UAS) Received(sent bool) []string {
	var out []string
	for _, m := range u.ParsedMessages() {
		if m.Sent == sent {
			out = append(out, m.StartLine)
		}
	}
	return out
}

func waitTCP(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sippeer: sipp not listening on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
