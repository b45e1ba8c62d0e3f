package sendqueue

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type meta struct{ seq int }

// recorder is a write function that keeps what it was given and can be
// held: while hold is open, the write in progress blocks.
type recorder struct {
	mu      sync.Mutex
	seqs    []int
	pays    [][]byte
	entered chan int      // a write started
	done    chan int      // a write was recorded
	hold    chan struct{} // nil: writes never block
	release sync.Once
}

func newRecorder(held bool) *recorder {
	r := &recorder{entered: make(chan int, 1024), done: make(chan int, 1024)}
	if held {
		r.hold = make(chan struct{})
	}
	return r
}

// unblock lets the held write, and every later one, go through.
func (r *recorder) unblock() {
	if r.hold != nil {
		r.release.Do(func() { close(r.hold) })
	}
}

func (r *recorder) write(m *meta, p []byte) {
	r.entered <- m.seq
	if r.hold != nil {
		<-r.hold
	}
	r.mu.Lock()
	r.seqs = append(r.seqs, m.seq)
	r.pays = append(r.pays, bytes.Clone(p))
	r.mu.Unlock()
	r.done <- m.seq
}

func (r *recorder) got() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.seqs...)
}

func run(t *testing.T, q *Queue[meta], r *recorder) {
	done := make(chan struct{})
	go func() { defer close(done); q.Run(r.write) }()
	t.Cleanup(func() {
		q.Close()
		r.unblock()
		<-done
	})
}

// wait takes n signals from ch (r.entered or r.done).
func wait(t *testing.T, ch chan int, n int) {
	t.Helper()
	for range n {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %d writes", n)
		}
	}
}

// Packets reach the writer in order with their own payload and metadata,
// and the caller's buffer may be reused as soon as Push returns.
func TestOrderAndCopy(t *testing.T) {
	const n = 100
	q := New[meta](n, 100) // room for all: nothing is dropped
	r := newRecorder(false)
	run(t, q, r)
	buf := make([]byte, 3)
	for i := range n {
		buf[0], buf[1], buf[2] = byte(i), byte(i+1), byte(i+2)
		if q.Push(meta{i}, buf) {
			t.Fatalf("packet %d dropped", i)
		}
	}
	wait(t, r.done, n)
	got := r.got()
	for i, s := range got {
		if p := r.pays[i]; s != i || len(p) != 3 || p[0] != byte(s) || p[2] != byte(s+2) {
			t.Fatalf("packet %d: seq %d payload %v", i, s, p)
		}
	}
}

// A writer stuck in the network never holds up Push: the queue drops its
// oldest packets, counts them, and the writer gets the newest ones once it
// moves again.
func TestBlockedWriterDropsOldest(t *testing.T) {
	const capacity = 4
	q := New[meta](capacity, 10)
	r := newRecorder(true)
	run(t, q, r)

	q.Push(meta{0}, []byte{0})
	wait(t, r.entered, 1)
	// The writer is now stuck in packet 0's write. Every push returns at
	// once (the test would hang otherwise); once capacity is reached each
	// one drops the oldest.
	drops := 0
	for i := 1; i <= 20; i++ {
		if q.Push(meta{i}, []byte{byte(i)}) {
			drops++
		}
	}
	if drops != 20-capacity || q.Dropped() != uint64(drops) {
		t.Fatalf("%d drops reported, Dropped() = %d, want %d", drops, q.Dropped(), 20-capacity)
	}
	if q.Len() != capacity {
		t.Fatalf("Len() = %d, want %d", q.Len(), capacity)
	}
	r.unblock()
	wait(t, r.done, capacity+1)
	want := []int{0, 17, 18, 19, 20}
	got := r.got()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("written %v, want %v", got, want)
		}
	}
}

func TestTooLargeAndClosed(t *testing.T) {
	q := New[meta](2, 4)
	if !q.Push(meta{1}, make([]byte, 5)) || q.Dropped() != 1 || q.Len() != 0 {
		t.Fatalf("oversized payload: Dropped %d Len %d", q.Dropped(), q.Len())
	}
	q.Close()
	q.Close()
	if q.Push(meta{2}, []byte{1}) || q.Len() != 0 {
		t.Fatal("Push after Close queued something")
	}
	done := make(chan struct{})
	go func() { q.Run(func(*meta, []byte) { t.Error("write after Close") }); close(done) }()
	<-done
}

// BenchmarkPushRun is one packet through the queue to a writer goroutine
// that keeps up; it must not allocate.
func BenchmarkPushRun(b *testing.B) {
	q := New[meta](256, 1500)
	var written sync.WaitGroup
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Run(func(*meta, []byte) { written.Done() })
	}()
	payload := make([]byte, 160)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		written.Add(1)
		if q.Push(meta{i}, payload) {
			written.Done()
		}
		if i%32 == 31 {
			written.Wait()
		}
	}
	written.Wait()
	b.StopTimer()
	q.Close()
	<-done
}
