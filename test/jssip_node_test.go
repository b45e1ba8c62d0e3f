package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/harness"
)

// jssipEvent is one line of test/jssip/register.mjs.
type jssipEvent struct {
	Event   string `json:"event"`
	Status  int    `json:"status"`
	Contact string `json:"contact"`
	Allow   string `json:"allow"`
	Cause   string `json:"cause"`
	Why     string `json:"why"`
}

// jssipNode runs register.mjs (JsSIP from web/node_modules in Node) and
// returns its event lines, its stdin, and a wait for it to exit. It skips
// when Node or the npm packages are missing, and fails instead under
// CI=true (make test installs them).
func jssipNode(t *testing.T, env ...string) (<-chan jssipEvent, io.WriteCloser, func() error) {
	t.Helper()
	node := harness.RequireTool(t, "node")
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "jssip", "package.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("web/node_modules has no jssip (make test runs npm ci): %v", err)
		}
		t.Skip("web/node_modules has no jssip: run make web")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "test", "jssip", "register.mjs"))
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	events := make(chan jssipEvent, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e jssipEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Event != "" {
				events <- e
			}
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	})
	return events, stdin, cmd.Wait
}

// next returns the next event, failing on an error event or a timeout.
func nextJsSIP(t *testing.T, events <-chan jssipEvent, want string) jssipEvent {
	t.Helper()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("JsSIP exited before %q", want)
			}
			if e.Event == "error" {
				t.Fatalf("JsSIP: %s", e.Why)
			}
			if e.Event == want {
				return e
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no %q from JsSIP", want)
		}
	}
}

// TestJsSIPNodeRegister: JsSIP (npm, in Node) registers over ws:// and
// wss:// with a sip.users account, gets its binding back in the 200, asks
// OPTIONS (REGISTER is among the methods allowed), shows up in GET
// /v1/registrations, and unregisters; a wrong password gets 403.
func TestJsSIPNodeRegister(t *testing.T) {
	g := callPageGateway(t)
	for _, c := range []struct{ name, url, origin string }{
		{"ws", "ws://" + g.ws, g.srv.URL},
		{"wss", "wss://" + g.wss, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			events, stdin, wait := jssipNode(t, "SIP_WS_URL="+c.url, "SIP_DOMAIN="+sipDomain,
				"SIP_USER="+callPageUser, "SIP_PASSWORD="+callPagePassword, "SIP_ORIGIN="+c.origin)
			reg := nextJsSIP(t, events, "registered")
			if reg.Status != 200 || !strings.Contains(reg.Contact, ".invalid;transport=ws>;expires=300") {
				t.Errorf("registered: %+v", reg)
			}
			opts := nextJsSIP(t, events, "options")
			if opts.Status != 200 || !strings.HasSuffix(opts.Allow, "REGISTER") {
				t.Errorf("OPTIONS: %+v", opts)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if regs := callRegistrations(ctx, t, g, callPageUser); len(regs) != 1 || regs[0].Transport != c.name || !strings.Contains(regs[0].UserAgent, "(node)") {
				t.Errorf("registrations %+v", regs)
			}
			_, _ = fmt.Fprintln(stdin, "go")
			nextJsSIP(t, events, "unregistered")
			if err := wait(); err != nil {
				t.Errorf("node: %v", err)
			}
			if regs := callRegistrations(ctx, t, g, callPageUser); len(regs) != 0 {
				t.Errorf("after unregistering: %+v", regs)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		events, _, wait := jssipNode(t, "SIP_WS_URL=ws://"+g.ws, "SIP_DOMAIN="+sipDomain,
			"SIP_USER="+callPageUser, "SIP_PASSWORD=guess-again")
		if e := nextJsSIP(t, events, "registrationFailed"); e.Status != 403 {
			t.Errorf("%+v, want 403", e)
		}
		if err := wait(); err != nil {
			t.Errorf("node: %v", err)
		}
	})
}
