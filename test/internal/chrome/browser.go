package chrome

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultPath is where Debian's chromium package installs the browser.
const DefaultPath = "/usr/bin/chromium"

// Flags for a headless browser whose fake camera and microphone need no
// permission prompt and whose pages play media without a user gesture.
// The last three keep background windows from being throttled, since a
// test drives several pages at once.
var defaultFlags = []string{
	"--headless=new",
	"--no-sandbox",
	"--disable-gpu",
	"--use-fake-device-for-media-stream",
	"--use-fake-ui-for-media-stream",
	"--allow-loopback-in-peer-connection",
	"--autoplay-policy=no-user-gesture-required",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--no-first-run",
	"--no-default-browser-check",
	"--disable-background-timer-throttling",
	"--disable-renderer-backgrounding",
	"--disable-backgrounding-occluded-windows",
	"--remote-debugging-port=0",
}

// Options configure Start.
type Options struct {
	// Path of the browser; empty means $CHROME_PATH or DefaultPath.
	Path string
	// Args are added to the default flags.
	Args []string
	// Logf receives console output of pages; nil discards it.
	Logf func(format string, args ...any)
	// StartTimeout bounds the wait for the DevTools endpoint; zero means 30 s.
	StartTimeout time.Duration
}

// Browser is a running Chromium controlled over CDP.
type Browser struct {
	cmd     *exec.Cmd
	conn    *conn
	profile string
	stderr  tail
	exited  chan struct{}

	logMu   sync.Mutex
	logf    func(format string, args ...any)
	pagesMu sync.Mutex
	pages   []*Page

	closeOnce sync.Once
	closeErr  error
}

var devtoolsLine = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// Launch starts a browser for t, logging page consoles with t.Logf, and
// closes it when t ends. Chromium's own stderr goes to the log only if t
// fails.
func Launch(t testing.TB, o Options) *Browser {
	t.Helper()
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	b, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshots(t)
		}
		if err := b.Close(); err != nil {
			t.Logf("chrome: close: %v", err)
		}
		if t.Failed() {
			t.Logf("chrome: stderr (last lines):\n%s", b.Stderr())
		}
	})
	return b
}

// Start launches the browser and connects to it.
func Start(ctx context.Context, o Options) (*Browser, error) {
	path := o.Path
	if path == "" {
		path = os.Getenv("CHROME_PATH")
	}
	if path == "" {
		path = DefaultPath
	}
	profile, err := os.MkdirTemp("", "roombridge-chrome-")
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, defaultFlags...), o.Args...)
	args = append(args, "--user-data-dir="+profile, "about:blank")
	b := &Browser{profile: profile, logf: o.Logf, exited: make(chan struct{})}
	b.cmd = exec.Command(path, args...)
	// Its own process group, so Close can end the renderer, GPU and
	// zygote children with one signal.
	b.cmd.SysProcAttr = procAttr()
	pipe, err := b.cmd.StderrPipe()
	if err != nil {
		_ = os.RemoveAll(profile)
		return nil, err
	}
	if err := b.cmd.Start(); err != nil {
		_ = os.RemoveAll(profile)
		return nil, fmt.Errorf("chrome: start %s: %w", path, err)
	}
	go func() {
		_ = b.cmd.Wait()
		close(b.exited)
	}()

	url := make(chan string, 1)
	go b.scanStderr(pipe, url)
	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case u := <-url:
		b.conn, err = dial(ctx, u)
	case <-b.exited:
		err = fmt.Errorf("chrome: %s exited at start:\n%s", path, b.Stderr())
	case <-ctx.Done():
		err = fmt.Errorf("chrome: no DevTools endpoint: %w\n%s", ctx.Err(), b.Stderr())
	}
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// scanStderr finds the DevTools URL and then keeps draining stderr (so the
// browser never blocks on a full pipe), remembering the last lines.
func (b *Browser) scanStderr(r io.Reader, url chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	found := false
	for sc.Scan() {
		line := sc.Text()
		b.stderr.add(line)
		if !found {
			if m := devtoolsLine.FindStringSubmatch(line); m != nil {
				found = true
				url <- m[1]
			}
		}
	}
}

// screenshots saves a PNG of every open page into the test's artifact
// directory (kept with go test -artifacts) to show what a failing test saw.
func (b *Browser) screenshots(t testing.TB) {
	b.pagesMu.Lock()
	pages := slices.Clone(b.pages)
	b.pagesMu.Unlock()
	dir := t.ArtifactDir()
	for i, p := range pages {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		png, err := p.Screenshot(ctx)
		cancel()
		if err != nil {
			t.Logf("chrome: screenshot of %s: %v", p.name, err)
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", i, p.name))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Logf("chrome: %v", err)
			continue
		}
		t.Logf("chrome: screenshot of %s: %s", p.name, path)
	}
}

// Stderr returns the browser's last stderr lines.
func (b *Browser) Stderr() string { return b.stderr.String() }

func (b *Browser) log(format string, args ...any) {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	if b.logf != nil {
		b.logf(format, args...)
	}
}

// Close ends the browser: Browser.close first, then SIGKILL to the whole
// process group, then the profile directory is removed. It stops page
// logging first, because testing.T panics on logs after a test ends.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		b.logMu.Lock()
		b.logf = nil
		b.logMu.Unlock()
		var errs []error
		if b.conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			// The browser may exit before it answers; that is success.
			_ = b.conn.call(ctx, "", "Browser.close", nil, nil)
			cancel()
			select {
			case <-b.exited:
			case <-time.After(5 * time.Second):
			}
			_ = b.conn.close()
		}
		if b.cmd.Process != nil {
			// Renderers can outlive the browser process for a moment.
			if err := syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, err)
			}
			<-b.exited
		}
		errs = append(errs, removeAll(b.profile))
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// removeAll retries because Chromium's helpers may still be closing files.
func removeAll(dir string) error {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// tail keeps the last lines of a noisy stream.
type tail struct {
	mu    sync.Mutex
	lines []string
}

const tailLines = 50

func (t *tail) add(line string) {
	// Headless Chromium complains about the missing D-Bus on every start;
	// those lines would bury the useful ones.
	if strings.Contains(line, "dbus") {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
