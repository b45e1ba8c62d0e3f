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
	bin          string
	env          []string
	readyTimeout time.Duration
	cmd          *exec.Cmd
	logs         LogBuffer
	done         chan struct{}
	waitErr      error // set before done is closed
	stopped      bool
	exitExpected bool // Terminate or WaitExit: the test expects the gateway to exit
	killed       bool // Kill: the test killed it, its exit status is no failure
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
	}
	if err := os.WriteFile(s.ConfigPath, body, 0o600); err != nil {
		t.Fatal(err)
	}
	// The config may override where things listen; read back what it says.
	s.applyOverrides(body)

	s.bin, s.env = bin, append(cleanEnv(), o.Env...)
	// Registered before the stop, so it runs after it and the shutdown logs
	// are included.
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("ROOMBRIDGE_TEST_LOGS") == "1" {
			t.Logf("harness: config %s:\n%s", s.ConfigPath, body)
			t.Logf("harness: roombridge logs:\n%s", s.Logs())
		}
	})
	if err := s.launch(); err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("harness: %v", err)
		}
	})

	s.readyTimeout = o.ReadyTimeout
	if s.readyTimeout == 0 {
		s.readyTimeout = readyTimeout
	}
	if err := s.waitReady(s.readyTimeout); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return s
}

// launch starts the gateway process with the server's config; its logs
// go on in the same buffer.
func (s *Server) launch() error {
	s.cmd = exec.Command(s.bin, "serve", "--config", s.ConfigPath)
	s.cmd.Dir = s.Dir
	s.cmd.Env = s.env
	s.cmd.Stdout = &s.logs
	s.cmd.Stderr = &s.logs
	s.cmd.SysProcAttr = procAttr()
	s.done, s.waitErr = make(chan struct{}), nil
	s.stopped, s.exitExpected, s.killed = false, false, false
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	cmd, done := s.cmd, s.done
	go func() {
		s.waitErr = cmd.Wait()
		close(done)
	}()
	return nil
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
		if s.killed {
			return nil
		}
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

// Kill ends the gateway with SIGKILL, as a crash or a lost machine
// would: no drain, no BYE, no records removed. It returns once the process
// is gone.
func (s *Server) Kill() error {
	s.killed = true
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGKILL: %w", err)
	}
	<-s.done
	return nil
}

// Restart starts the gateway again, with the same config, ports and store,
// once its process has ended (Kill, or a drain that exited), and waits
// until it is ready.
func (s *Server) Restart() error {
	select {
	case <-s.done:
	default:
		return errors.New("restart: roombridge is still running")
	}
	if !s.killed && s.waitErr != nil {
		return fmt.Errorf("restart: the last run failed: %w", s.waitErr)
	}
	_, _ = s.logs.Write([]byte("--- harness: restart ---\n"))
	if err := s.launch(); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return s.waitReady(s.readyTimeout)
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
