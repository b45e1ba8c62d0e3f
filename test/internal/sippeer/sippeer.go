package sippeer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/harness"
)

// Exit codes of sipp (SIPp reference, "Exit codes").
const (
	ExitOK           = 0   // all calls succeeded
	ExitCallsFailed  = 1   // at least one call failed
	ExitInternal     = 97  // exit on an internal command
	ExitNoCalls      = 99  // normal exit without any call processed
	ExitFatal        = 255 // fatal error, e.g. a failed regexp check
	ExitFatalBinding = 254 // could not bind a port
)

// Options describe one sipp run as a UAC.
type Options struct {
	// Scenario is a file name in test/sipp, such as "call_speech.xml".
	Scenario string
	// Remote is the gateway's SIP address, host:port.
	Remote string
	// Service is the user part of the Request-URI (sipp -s): a room name,
	// alias or numeric id.
	Service string
	// Domain is the host part of the Request-URI and To (the scenarios'
	// [domain] key); empty means the host of Remote.
	Domain string
	// Transport is "udp" (default) or "tcp".
	Transport string
	// Pause is sipp's -d, the length of the scenarios' <pause/> without a
	// duration (how long a call stays up); zero leaves sipp's default.
	Pause time.Duration
	// Timeout bounds the whole run (sipp -timeout, and a kill after it);
	// zero means 60 s.
	Timeout time.Duration
	// Args are added to sipp's command line.
	Args []string
}

// Process is a running sipp.
type Process struct {
	// Dir is the run's working directory, holding the scenario copy,
	// fixtures and traces.
	Dir string
	// Args is the full command line, for logs.
	Args []string

	cmd  *exec.Cmd
	out  buffer
	done chan struct{}
	err  error
}

// Start starts sipp for t and kills it, if it is still running, when t ends.
// It fails t if sipp cannot start.
func Start(t testing.TB, o Options) *Process {
	t.Helper()
	bin, dir := prepare(t, o.Scenario)
	args, err := commandLine(o, dir)
	if err != nil {
		t.Fatal(err)
	}
	return spawn(t, bin, dir, args, "sippeer")
}

// prepare finds sipp (skipping or failing t without it) and makes a
// working directory holding the scenario and the pcap fixtures.
func prepare(t testing.TB, scenario string) (bin, dir string) {
	t.Helper()
	bin = harness.RequireTool(t, "sipp")
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := copyInputs(root, dir, scenario); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

// spawn starts sipp with args in dir, kills it when t ends and logs its
// report then if t failed.
func spawn(t testing.TB, bin, dir string, args []string, label string) *Process {
	t.Helper()
	p := &Process{Dir: dir, Args: append([]string{bin}, args...), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.SysProcAttr = procAttr()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s: %s", label, p.Report())
		}
	})
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("sippeer: start sipp: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// Run starts sipp and waits for it to end; it returns sipp's exit code.
func Run(t testing.TB, o Options) int {
	t.Helper()
	p := Start(t, o)
	code, err := p.Wait(context.Background())
	if err != nil {
		t.Fatalf("sippeer: %v", err)
	}
	return code
}

// Done is closed when sipp has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for sipp to exit, or for ctx, and returns its exit code.
// sipp's own -timeout ends a run that hangs; as a last resort the run is
// killed when the test ends.
func (p *Process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		return -1, fmt.Errorf("sipp still running: %w", context.Cause(ctx))
	}
	if p.err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ee.ExitCode() >= 0 {
			return ee.ExitCode(), nil
		}
		return -1, fmt.Errorf("sipp: %w", p.err)
	}
	return -1, p.err
}

// ExitReason names one of sipp's exit codes.
func ExitReason(code int) string {
	switch code {
	case ExitOK:
		return "all calls succeeded"
	case ExitCallsFailed:
		return "at least one call failed"
	case ExitInternal:
		return "exit on internal command"
	case ExitNoCalls:
		return "no call processed"
	case ExitFatal:
		return "fatal error (a failed regexp check, an unexpected message or a bad scenario)"
	case ExitFatalBinding:
		return "could not bind a port"
	default:
		return "unknown exit code"
	}
}

// Messages returns the SIP messages sipp sent and received so far.
func (p *Process) Messages() string { return readFile(filepath.Join(p.Dir, "messages.log")) }

// Errors returns sipp's error trace: unexpected messages, failed checks.
func (p *Process) Errors() string { return readFile(filepath.Join(p.Dir, "errors.log")) }

// Output returns sipp's screen and stderr.
func (p *Process) Output() string { return p.out.String() }

// Report is everything sipp left behind, for a test log.
func (p *Process) Report() string {
	return fmt.Sprintf("%s\n--- sipp output ---\n%s\n--- sipp errors ---\n%s\n--- sipp messages ---\n%s",
		strings.Join(p.Args, " "), tail(p.Output(), 8000), tail(p.Errors(), 8000), tail(p.Messages(), 30000))
}

func (p *Process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	kill(p.cmd)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// commandLine builds sipp's arguments for a run in dir.
func commandLine(o Options, dir string) ([]string, error) {
	host, _, err := net.SplitHostPort(o.Remote)
	if err != nil {
		return nil, fmt.Errorf("sippeer: remote %q: %w", o.Remote, err)
	}
	domain := o.Domain
	if domain == "" {
		domain = host
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	transport := "u1"
	switch strings.ToLower(o.Transport) {
	case "", "udp":
	case "tcp":
		transport = "t1"
	default:
		return nil, fmt.Errorf("sippeer: transport %q", o.Transport)
	}
	sipPort, err := freeDualPort()
	if err != nil {
		return nil, err
	}
	mediaPort, err := freeMediaPort()
	if err != nil {
		return nil, err
	}
	args := []string{
		o.Remote,
		"-sf", filepath.Join(dir, o.Scenario),
		"-s", o.Service,
		"-key", "domain", domain,
		"-t", transport,
		"-i", "127.0.0.1", "-mi", "127.0.0.1",
		"-p", strconv.Itoa(sipPort), "-mp", strconv.Itoa(mediaPort),
		"-m", "1", "-l", "1",
		"-timeout", fmt.Sprintf("%ds", int((timeout+time.Second-1)/time.Second)), "-timeout_error",
		"-recv_timeout", "10000",
		"-nostdin",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
	}
	if o.Pause > 0 {
		args = append(args, "-d", strconv.Itoa(int(o.Pause/time.Millisecond)))
	}
	return append(args, o.Args...), nil
}

// copyInputs copies the scenario and the pcap fixtures into dir, sipp's
// working directory, so that play_pcap_audio finds them by bare name and
// sipp's traces stay out of the source tree.
func copyInputs(root, dir, scenario string) error {
	if scenario == "" || filepath.Base(scenario) != scenario {
		return fmt.Errorf("sippeer: scenario %q must be a file name in test/sipp", scenario)
	}
	files := []string{filepath.Join(root, "test", "sipp", scenario)}
	pcaps, err := filepath.Glob(filepath.Join(root, "test", "fixtures", "*.pcap"))
	if err != nil {
		return err
	}
	for _, src := range append(files, pcaps...) {
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("sippeer: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(src)), b, 0o644); err != nil {
			return fmt.Errorf("sippeer: %w", err)
		}
	}
	return nil
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// tail keeps the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("[... %d bytes cut ...]\n%s", len(s)-n, s[len(s)-n:])
}

// buffer collects a process's stdout and stderr.
type buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
