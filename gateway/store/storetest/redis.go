package storetest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RedisServer is a redis-server process of one test: loopback only, a
// free port, no persistence, its files in the test's temporary directory.
type RedisServer struct {
	// Addr is host:port to connect to.
	Addr string
	cmd  *exec.Cmd
}

// StartRedis starts redis-server for t and stops it when t ends. Without
// redis-server the test is skipped, except under CI=true, where it fails:
// CI must have every peer installed.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("storetest: redis-server is required in CI: %v", err)
		}
		t.Skipf("storetest: redis-server not installed: %v", err)
	}
	dir := t.TempDir()
	var last error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		rs := &RedisServer{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
		rs.cmd = exec.Command(bin,
			"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--protected-mode", "yes",
			"--logfile", filepath.Join(dir, fmt.Sprintf("redis-%d.log", port)))
		if err := rs.cmd.Start(); err != nil {
			t.Fatalf("storetest: start redis-server: %v", err)
		}
		exited := make(chan struct{})
		go func() {
			_ = rs.cmd.Wait() // killed: the status says nothing
			close(exited)
		}()
		if last = waitRedis(rs.Addr, exited); last == nil {
			t.Cleanup(func() {
				_ = rs.cmd.Process.Kill()
				<-exited
			})
			return rs
		}
		_ = rs.cmd.Process.Kill()
		<-exited
	}
	t.Fatalf("storetest: redis-server did not start: %v", last)
	return nil
}

// waitRedis waits until the server answers PING, or exits.
func waitRedis(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("redis-server exited at start")
		default:
		}
		if ping(addr) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s did not answer PING within 10s", addr)
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Stop kills the server now, to test what happens when Redis goes away.
func (rs *RedisServer) Stop() { _ = rs.cmd.Process.Kill() }
