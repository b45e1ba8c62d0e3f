// Package netns runs a test inside a private network namespace with a
// routable (non-loopback) address, for peers that refuse loopback ICE
// candidates.
//
// LiveKit's SDK clients gather no loopback candidates, so a bot of the
// gateway and a livekit-server on 127.0.0.1 never connect their media. The
// test therefore re-executes itself (the same test binary, only that test)
// under `unshare -n` (plus `-r`, a user namespace, when not root). Inside the
// new namespace it brings lo up and makes a veth pair, rb0 with Addr/24 and
// rb1 with Peer/24. The namespace is empty but for this test: the server
// binds Addr and announces it as rtc.node_ip, the SDK gathers candidates on
// both veth ends, and all traffic stays in the namespace, so no port clashes
// with anything else on the machine and nothing leaks out of it. When the
// test ends, its processes end and the namespace with its links goes away.
//
// A dummy interface would do as well but needs the dummy kernel module,
// which containers often lack; veth is built in.
package netns

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Addresses inside the namespace (198.18.0.0/15 is for benchmarking,
// RFC 2544, so it clashes with no real network).
const (
	Addr = "198.18.0.1"
	Peer = "198.18.0.2"
)

// envInside marks the re-executed test binary.
const envInside = "ROOMBRIDGE_NETNS"

var setupOnce struct {
	sync.Once
	err error
}

// Inside reports whether this process runs in the namespace Enter made.
func Inside() bool { return os.Getenv(envInside) == "1" }

// Enter runs the calling top-level test inside a new network namespace.
// Outside it re-executes the test binary for t alone under unshare, waits,
// fails t if the inner run failed, and returns false: the caller returns at
// once. Inside it sets the namespace's links up (once per process) and
// returns true: the caller goes on with the test.
//
// Without unshare, ip or the privilege to use them, the test is skipped, or
// fails when the CI environment variable is "true".
func Enter(t *testing.T) bool {
	t.Helper()
	if Inside() {
		setupOnce.Do(func() { setupOnce.err = setup() })
		if setupOnce.err != nil {
			t.Fatalf("netns: %v", setupOnce.err)
		}
		return true
	}
	args, err := unshareArgs()
	if err != nil {
		missing(t, err)
		return false
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatalf("netns.Enter must be called from a top-level test, not %s", t.Name())
	}
	// Only this test runs inside, with the subtest part of -run kept.
	run := "^" + regexp.QuoteMeta(t.Name()) + "$"
	if f := flag.Lookup("test.run"); f != nil {
		if _, sub, ok := strings.Cut(f.Value.String(), "/"); ok {
			run += "/" + sub
		}
	}
	testArgs := []string{os.Args[0], "-test.run=" + run, "-test.count=1"}
	if testing.Verbose() {
		testArgs = append(testArgs, "-test.v=true")
	}
	if testing.Short() {
		testArgs = append(testArgs, "-test.short=true")
	}
	cmd := exec.Command(args[0], append(args[1:], testArgs...)...)
	cmd.Env = append(os.Environ(), envInside+"=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("netns: %s inside the network namespace: %v", t.Name(), err)
	}
	return false
}

// unshareArgs is the unshare command that works here: plain as root, with
// a user namespace otherwise.
func unshareArgs() ([]string, error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("no ip command (iproute2): %w", err)
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return nil, fmt.Errorf("no unshare command (util-linux): %w", err)
	}
	for _, args := range [][]string{{"unshare", "-n"}, {"unshare", "-r", "-n"}} {
		probe := append(append([]string{}, args...), "ip", "link", "add", "rb0", "type", "veth", "peer", "name", "rb1")
		if out, err := exec.Command(probe[0], probe[1:]...).CombinedOutput(); err == nil {
			return args, nil
		} else if args[1] == "-r" {
			return nil, fmt.Errorf("cannot make a network namespace with a veth pair: %w: %s", err, out)
		}
	}
	return nil, fmt.Errorf("unreachable")
}

// setup brings lo up and makes the veth pair.
func setup() error {
	for _, c := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "rb0", "type", "veth", "peer", "name", "rb1"},
		{"addr", "add", Addr + "/24", "dev", "rb0"},
		{"addr", "add", Peer + "/24", "dev", "rb1"},
		{"link", "set", "rb0", "up"},
		{"link", "set", "rb1", "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(c, " "), err, out)
		}
	}
	return nil
}

// missing skips t, or fails it in CI.
func missing(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("netns: %v", err)
	}
	t.Skipf("netns: %v", err)
}
