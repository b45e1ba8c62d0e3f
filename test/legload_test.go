package test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/sfu"
	"github.com/roombridge/roombridge/test/internal/netns"
)

// Measurements of what a phone leg costs the gateway with each backend,
// without SIP: N legs join one room and publish a pre-encoded Opus frame
// every 20 ms on one clock, as the room hub does (Opus encoding, the same
// with both backends, is left out). They run only when asked for.

// benchLegs is n phone legs of one backend in one room and their clock.
type benchLegs struct {
	legs    []room.Participant
	sent    atomic.Int64
	stop    chan struct{}
	clock   chan struct{} // closed when the clock's goroutine ends
	started bool
	once    sync.Once
}

// startLegs joins n legs to roomName, publishes an audio track on each and
// starts writing to all of them every 20 ms.
func startLegs(t *testing.T, b room.Backend, roomName string, n int) *benchLegs {
	t.Helper()
	ctx := context.Background()
	l := &benchLegs{stop: make(chan struct{}), clock: make(chan struct{})}
	writers := make([]room.AudioWriter, n)
	for i := range n {
		// Phone legs hear the room through the hub: publish-only, as the
		// gateway joins them.
		p, err := b.Join(ctx, roomName, room.ParticipantInfo{Name: fmt.Sprint("leg", i), Kind: room.ParticipantKindSIP, PublishOnly: true})
		if err != nil {
			l.close()
			t.Fatalf("leg %d: %v", i, err)
		}
		l.legs = append(l.legs, p)
		if writers[i], err = p.PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond}); err != nil {
			l.close()
			t.Fatalf("leg %d publish: %v", i, err)
		}
	}
	frame := make([]byte, 60) // a 24 kb/s Opus frame's size
	frame[0] = 0x78
	l.started = true
	go func() {
		defer close(l.clock)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			for _, w := range writers {
				if w.WriteAudio(frame, 20*time.Millisecond) == nil {
					l.sent.Add(1)
				}
			}
		}
	}()
	return l
}

// close stops the clock and makes every leg leave.
func (l *benchLegs) close() {
	l.once.Do(func() {
		close(l.stop)
		if l.started {
			<-l.clock
		}
		for _, p := range l.legs {
			_ = p.Leave("done")
		}
	})
}

// hub joins the room's hidden audio hub, receiving the tracks want lets
// through, and counts the frames it reads.
func joinHub(t *testing.T, b room.Backend, roomName string, want func(id string) bool) (room.Participant, *atomic.Int64) {
	t.Helper()
	hub, err := b.Join(context.Background(), roomName, room.ParticipantInfo{Name: "hub", Kind: room.ParticipantKindBot, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := hub.(room.TrackFilter); ok && want != nil {
		f.SetTrackFilter(want)
	}
	var got atomic.Int64
	var readers sync.WaitGroup
	hub.OnTrack(func(rt room.RemoteTrack) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := rt.ReadFrame(buf); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	})
	t.Cleanup(func() { _ = hub.Leave("done"); readers.Wait() })
	return hub, &got
}

// bothBackends starts livekit-server with the LiveKit backend on it, and
// an embedded SFU; all stop when the test ends.
func bothBackends(t *testing.T) (*lkServer, room.Backend, room.Backend) {
	s := startLiveKitRTC(t, lkAnnouncedOnly) // joins as fast as LiveKit allows
	lk := newLiveKitBackend(t, s)
	emb, err := sfu.New(sfu.Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	return s, lk, emb
}

// legCounts reads a comma-separated list of leg counts from env, or skips.
func legCounts(t *testing.T, env, example string) []int {
	spec := os.Getenv(env)
	if spec == "" {
		t.Skipf("set %s=%s to measure", env, example)
	}
	var counts []int
	for _, f := range strings.Split(spec, ",") {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil || n < 1 {
			t.Fatalf("%s: %q", env, f)
		}
		counts = append(counts, n)
	}
	return counts
}

// TestLegCPU measures the gateway's CPU per phone leg with each backend,
// with one hidden hub receiving every leg's track, and with
// ROOMBRIDGE_PPROF_DIR set writes a CPU profile of each steady window
// there. It runs only with ROOMBRIDGE_BENCH_LEGS set, e.g. "20,50,100".
func TestLegCPU(t *testing.T) {
	counts := legCounts(t, "ROOMBRIDGE_BENCH_LEGS", "20,50,100")
	if !netns.Enter(t) {
		return
	}
	s, lk, emb := bothBackends(t)
	window := 10 * time.Second
	t.Logf("%-8s %5s %10s %14s %12s %10s", "backend", "legs", "gw CPU %", "gw µs/leg/20ms", "server CPU %", "received %")
	for _, n := range counts {
		for _, bk := range []struct {
			name string
			b    room.Backend
			pid  int
		}{{"embedded", emb, -1}, {"livekit", lk, s.cmd.Process.Pid}} {
			roomName := fmt.Sprintf("cpu-%s-%d", bk.name, n)
			_, got := joinHub(t, bk.b, roomName, nil)
			legs := startLegs(t, bk.b, roomName, n)
			time.Sleep(3 * time.Second) // subscriptions settle
			var prof *os.File
			if dir := os.Getenv("ROOMBRIDGE_PPROF_DIR"); dir != "" {
				prof, _ = os.Create(filepath.Join(dir, fmt.Sprintf("cpu-steady-%s-%d.pprof", bk.name, n)))
				if prof != nil && pprof.StartCPUProfile(prof) != nil {
					_ = prof.Close()
					prof = nil
				}
			}
			u0, s0 := cpuTime(0), cpuTime(bk.pid)
			g0, sent0 := got.Load(), legs.sent.Load()
			time.Sleep(window)
			u1, s1 := cpuTime(0), cpuTime(bk.pid)
			if prof != nil {
				pprof.StopCPUProfile()
				_ = prof.Close()
			}
			g1, sent1 := got.Load(), legs.sent.Load()
			legs.close()
			gw := (u1 - u0).Seconds() / window.Seconds()
			t.Logf("%-8s %5d %10.1f %14.1f %12.1f %10.1f", bk.name, n, gw*100, gw*float64(20*time.Millisecond/time.Microsecond)/float64(n),
				(s1-s0).Seconds()/window.Seconds()*100, float64(g1-g0)/float64(max(sent1-sent0, 1))*100)
		}
	}
}

// TestLegMemory measures the gateway's memory and goroutines per phone leg
// with each backend, as the gateway runs them: the hub receives nothing of
// its own node's legs (room.TrackFilter), so nobody subscribes to them. It
// writes a heap profile per backend (go tool pprof -top -sample_index=
// inuse_space FILE) and its goroutines grouped by stack to
// $ROOMBRIDGE_PPROF_DIR, or a temporary folder. It runs
// only with ROOMBRIDGE_MEM_LEGS set, e.g. "50".
func TestLegMemory(t *testing.T) {
	counts := legCounts(t, "ROOMBRIDGE_MEM_LEGS", "50")
	if !netns.Enter(t) {
		return
	}
	// Sample every 4 KiB rather than 512 KiB: a leg's allocations are many
	// and small.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 4096
	dir := os.Getenv("ROOMBRIDGE_PPROF_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	_, lk, emb := bothBackends(t)
	t.Logf("%-8s %5s %12s %12s %14s", "backend", "legs", "heap KiB/leg", "RSS KiB/leg", "goroutines/leg")
	for _, n := range counts {
		for _, bk := range []struct {
			name string
			b    room.Backend
		}{{"embedded", emb}, {"livekit", lk}} {
			roomName := fmt.Sprintf("mem-%s-%d", bk.name, n)
			_, _ = joinHub(t, bk.b, roomName, func(string) bool { return false })
			heap0, rss0, g0 := memNow()
			legs := startLegs(t, bk.b, roomName, n)
			time.Sleep(5 * time.Second) // joins, publications and buffers settle
			heap1, rss1, g1 := memNow()
			path := filepath.Join(dir, fmt.Sprintf("heap-%s-%d.pprof", bk.name, n))
			if f, err := os.Create(path); err == nil {
				_ = pprof.WriteHeapProfile(f)
				_ = f.Close()
			}
			if f, err := os.Create(filepath.Join(dir, fmt.Sprintf("goroutines-%s-%d.txt", bk.name, n))); err == nil {
				_ = pprof.Lookup("goroutine").WriteTo(f, 1)
				_ = f.Close()
			}
			legs.close()
			t.Logf("%-8s %5d %12.0f %12.0f %14.1f   %s", bk.name, n, float64(heap1-heap0)/1024/float64(n),
				float64(rss1-rss0)/1024/float64(n), float64(g1-g0)/float64(n), path)
		}
	}
}

// TestJoinCPU measures what a phone leg's LiveKit join costs the gateway:
// n publish-only legs join one room one after another, each publishing its
// audio track, against an otherwise idle livekit-server; it reports the
// process CPU time and the wall time per join (Join and PublishAudio), and
// writes a CPU profile (go tool pprof -top FILE) to $ROOMBRIDGE_PPROF_DIR or
// a temporary folder. It runs only with ROOMBRIDGE_JOIN_LEGS set, e.g. "20".
func TestJoinCPU(t *testing.T) {
	counts := legCounts(t, "ROOMBRIDGE_JOIN_LEGS", "20")
	if !netns.Enter(t) {
		return
	}
	dir := os.Getenv("ROOMBRIDGE_PPROF_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	_, lk, _ := bothBackends(t)
	codec := room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond}
	ctx := context.Background()
	t.Logf("%5s %14s %14s %14s %14s", "legs", "CPU ms/join", "wall ms/join", "slowest ms", "load avg")
	for _, n := range counts {
		roomName := fmt.Sprintf("join-%d", n)
		// A warm-up leg: the first join pays for code paths and caches once.
		warm, err := lk.Join(ctx, roomName, room.ParticipantInfo{Name: "warm", Kind: room.ParticipantKindSIP, PublishOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		path := filepath.Join(dir, fmt.Sprintf("cpu-join-%d.pprof", n))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		legs := make([]room.Participant, 0, n)
		var slowest time.Duration
		c0, w0 := cpuTime(0), time.Now()
		for i := range n {
			s := time.Now()
			p, err := lk.Join(ctx, roomName, room.ParticipantInfo{Name: fmt.Sprint("leg", i), Kind: room.ParticipantKindSIP, PublishOnly: true})
			if err != nil {
				t.Fatalf("leg %d: %v", i, err)
			}
			legs = append(legs, p)
			if _, err := p.PublishAudio(codec); err != nil {
				t.Fatalf("leg %d publish: %v", i, err)
			}
			slowest = max(slowest, time.Since(s))
		}
		cpu, wall := cpuTime(0)-c0, time.Since(w0)
		pprof.StopCPUProfile()
		_ = f.Close()
		load, _ := os.ReadFile("/proc/loadavg")
		t.Logf("%5d %14.1f %14.0f %14.0f %14s   %s", n, float64(cpu.Microseconds())/1000/float64(n),
			float64(wall.Milliseconds())/float64(n), float64(slowest.Milliseconds()), strings.Join(strings.Fields(string(load))[:3], " "), path)
		for _, p := range legs {
			_ = p.Leave("done")
		}
		_ = warm.Leave("done")
	}
}

// memNow is the live heap after a collection, the resident set and the
// number of goroutines.
func memNow() (heap, rss uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if f, err := os.Open("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				var kb uint64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
				rss = kb * 1024
			}
		}
		_ = f.Close()
	}
	return ms.HeapInuse, rss, runtime.NumGoroutine()
}

// cpuTime is the user+system CPU time of this process (pid 0) or of pid
// (none for -1).
func cpuTime(pid int) time.Duration {
	if pid < 0 {
		return 0
	}
	if pid == 0 {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name in parentheses: utime is the 14th
	// field of the whole line, stime the 15th, in clock ticks (100 Hz).
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	var ut, st int64
	fmt.Sscan(fields[11], &ut)
	fmt.Sscan(fields[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
