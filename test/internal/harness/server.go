package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Stop deadlines: SIGTERM first, SIGKILL after stopTimeout.
const (
	stopTimeout  = 10 * time.Second
	readyTimeout = 30 * time.Second
)

// Options change the generated config and the process environment.
type Options struct {
	// Config is merged over the default config: maps merge key by key, a
	// nil value deletes a key, lists and scalars replace.
	Config map[string]any
	// YAML fragments are merged after Config, in order, the same way.
	YAML []string
	// Env is added to the gateway's environment (KEY=value).
	Env []string
	// ReadyTimeout bounds the wait for /readyz; zero means 30 s.
	ReadyTimeout time.Duration
}

// Server is a running gateway.
type Server struct {
	// URL is the base HTTP URL, e.g. http://127.0.0.1:41234.
	URL string
	// SIPAddr is host:port of the UDP and TCP SIP listeners.
	SIPAddr string
	// APIKey is a key the room API accepts.
	APIKey string
	// ConfigPath is the generated config file; Dir holds it and the store.
	ConfigPath string
	Dir        string

	t            testing.TB
	cmd          *exec.Cmd
	logs         LogBuffer
	done         chan struct{}
	waitErr      error
	stopped      bool
	exitExpected bool // Terminate or WaitExit: the test expects the gateway to exit
}

// Start builds (once) and starts a gateway for t and stops it when t ends.
// It fails t if the gateway does not become ready.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	p, err := pickPorts()
	if err != nil {
		t.Fatal(err)
	}
	body, err := renderConfig(baseConfig(p, filepath.Join(dir, "data", "roombridge.db")), o.Config, o.YAML)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		URL:        fmt.Sprintf("http://127.0.0.1:%d", p.http),
		SIPAddr:    fmt.Sprintf("127.0.0.1:%d", p.sip),
		APIKey:     DefaultAPIKey,
		ConfigPath: filepath.Join(dir, "roombridge.yaml"),
		Dir:        dir,
		t:          t,
		done:       make(chan struct{}),
	}
	if err := os.WriteFile(s.ConfigPath, body, 0o600); err != nil {
		t.Fatal(err)
	}
	// The config may override where things listen; read back what it says.
	s.applyOverrides(body)

	s.cmd = exec.Command(bin, "serve", "--config", s.ConfigPath)
	s.cmd.Dir = dir
	s.cmd.Env = append(cleanEnv(), o.Env...)
	s.cmd.Stdout = &s.logs
	s.cmd.Stderr = &s.logs
	s.cmd.SysProcAttr = procAttr()
	// Registered before the stop, so it runs after it and the shutdown logs
	// are included.
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("ROOMBRIDGE_TEST_LOGS") == "1" {
			t.Logf("harness: config %s:\n%s", s.ConfigPath, body)
			t.Logf("harness: roombridge logs:\n%s", s.Logs())
		}
	})
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("harness: start %s: %v", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("harness: %v", err)
		}
	})

	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = readyTimeout
	}
	if err := s.waitReady(timeout); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return s
}

// cleanEnv drops ROOMBRIDGE_* variables from the environment: the config
// loader reads them as overrides, and a developer's shell must not change
// what a test runs against.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROOMBRIDGE_") {
			env = append(env, kv)
		}
	}
	return env
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("roombridge exited before it was ready: %w", s.waitErr)
		default:
		}
		res, err := client.Get(s.URL + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", res.StatusCode, bytes.TrimSpace(b))
		} else {
			last = err.Error()
		}
		select {
		case <-s.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("roombridge not ready after %v: %s", timeout, last)
}

// Stop sends SIGTERM and waits for the gateway to exit, killing it after
// 10 s. It reports a timeout or a non-zero exit; calling it again is a no-op.
func (s *Server) Stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	select {
	case <-s.done:
		if s.exitExpected {
			return exitErr(s.waitErr)
		}
		return fmt.Errorf("roombridge exited during the test: %w", s.waitErr)
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-s.done:
		if s.waitErr != nil {
			return fmt.Errorf("roombridge exit after SIGTERM: %w", s.waitErr)
		}
		return nil
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("roombridge did not stop within %v of SIGTERM; killed", stopTimeout)
	}
}

// Terminate sends SIGTERM and returns at once: the gateway drains (calls
// in progress go on, new ones get 503) and exits by itself; see WaitExit.
func (s *Server) Terminate() error {
	s.exitExpected = true
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	return nil
}

// WaitExit waits up to timeout for the gateway to exit (by SIGTERM, or a
// drain through the API) and reports a non-zero exit status or the
// timeout.
func (s *Server) WaitExit(timeout time.Duration) error {
	s.exitExpected = true
	select {
	case <-s.done:
		return exitErr(s.waitErr)
	case <-time.After(timeout):
		return fmt.Errorf("roombridge still running %v later", timeout)
	}
}

func exitErr(err error) error {
	if err != nil {
		return fmt.Errorf("roombridge exit: %w", err)
	}
	return nil
}

// Logs returns everything the gateway has written so far.
func (s *Server) Logs() string { return s.logs.String() }

// Exited is closed when the gateway process has ended.
func (s *Server) Exited() <-chan struct{} { return s.done }

// WSURL returns the ws:// URL of path on the gateway.
func (s *Server) WSURL(path string) string { return "ws" + strings.TrimPrefix(s.URL, "http") + path }

// API calls the room API with the server's key. body, when not nil, is sent
// as JSON; the status and the raw response body are returned.
func (s *Server) API(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}
