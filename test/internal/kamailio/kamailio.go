// Package kamailio runs the real Kamailio with the project's own
// deploy/kamailio configuration (through its entrypoint.sh) on loopback,
// in front of gateway nodes started by the test, and stops it when the
// test ends.
package kamailio

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/ports"
	"github.com/roombridge/roombridge/test/internal/sipprobe"
)

// Options configure one Kamailio.
type Options struct {
	// Gateways are host:port of the gateway nodes' SIP listeners.
	Gateways []string
	// ProbeInterval is how often each node is probed with OPTIONS, in
	// whole seconds; zero means 1.
	ProbeInterval int
}

// Proxy is a running Kamailio.
type Proxy struct {
	// Addr is host:port where phones send their INVITEs (UDP and TCP).
	Addr string
	cmd  *exec.Cmd
	logs harness.LogBuffer
	done chan struct{}
}

// Start starts Kamailio for t. It skips (fails under CI=true) without
// kamailio installed.
func Start(t *testing.T, o Options) *Proxy {
	t.Helper()
	harness.RequireTool(t, "kamailio")
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = 1
	}
	port, err := ports.Dual()
	if err != nil {
		t.Fatal(err)
	}
	gws := make([]string, len(o.Gateways))
	for i, g := range o.Gateways {
		gws[i] = "sip:" + g
	}
	dir := t.TempDir()
	p := &Proxy{Addr: fmt.Sprintf("127.0.0.1:%d", port), done: make(chan struct{})}
	p.cmd = exec.Command("sh", filepath.Join(root, "deploy", "kamailio", "entrypoint.sh"),
		"-A", fmt.Sprintf("PROBE_INTERVAL=%d", o.ProbeInterval), "-A", "CHILDREN=2")
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(),
		"GATEWAYS="+strings.Join(gws, " "),
		"LISTEN="+p.Addr,
		"DISPATCHER_LIST="+filepath.Join(dir, "dispatcher.list"),
	)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	// Its own process group: Kamailio forks workers, and the group is
	// what gets stopped.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("kamailio: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() || os.Getenv("ROOMBRIDGE_TEST_LOGS") == "1" {
			t.Logf("kamailio logs:\n%s", p.Logs())
		}
	})
	if err := p.waitListening(10 * time.Second); err != nil {
		t.Fatalf("kamailio: %v\n%s", err, p.Logs())
	}
	return p
}

// waitListening waits until Kamailio answers OPTIONS to itself, or exits.
func (p *Proxy) waitListening(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	code, err := sipprobe.Options(ctx, p.Addr)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("OPTIONS to Kamailio itself: %d", code)
	}
	return nil
}

func (p *Proxy) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Logs returns what Kamailio has written so far.
func (p *Proxy) Logs() string { return p.logs.String() }
