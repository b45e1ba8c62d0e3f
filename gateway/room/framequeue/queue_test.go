package framequeue

import (
	"errors"
	"io"
	"testing"

	"github.com/roombridge/roombridge/gateway/room"
)

func TestQueueOrderDropAndEOF(t *testing.T) {
	q := New(2)
	buf := make([]byte, 8)
	q.Push([]byte{1}, room.FrameInfo{Timestamp: 1})
	q.Push([]byte{2, 2}, room.FrameInfo{Timestamp: 2})
	q.Push([]byte{3, 3, 3}, room.FrameInfo{Timestamp: 3}) // drops frame 1

	n, info, err := q.Read(buf)
	if err != nil || n != 2 || info.Timestamp != 2 || !info.Gap {
		t.Fatalf("after an overflow: %d %+v %v; want frame 2 flagged as following a gap", n, info, err)
	}
	if _, _, err := q.Read(make([]byte, 2)); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("short buffer: %v", err)
	}
	q.Close()
	q.Close()
	q.Push([]byte{4}, room.FrameInfo{Timestamp: 4}) // ignored
	n, info, err = q.Read(buf)
	if err != nil || n != 3 || info.Timestamp != 3 || info.Gap {
		t.Fatalf("queued frame after Close: %d %+v %v", n, info, err)
	}
	if _, _, err := q.Read(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("drained and closed: %v, want EOF", err)
	}
	if !q.Closed() {
		t.Fatal("Closed is false after Close")
	}
}

func TestDiscard(t *testing.T) {
	q := New(4)
	q.Push([]byte{1}, room.FrameInfo{Timestamp: 1})
	q.Push([]byte{2}, room.FrameInfo{Timestamp: 2})
	q.Discard()
	q.Push([]byte{3}, room.FrameInfo{Timestamp: 3})
	if _, info, err := q.Read(make([]byte, 4)); err != nil || info.Timestamp != 3 || !info.Gap {
		t.Fatalf("after Discard: %+v %v; want frame 3 after a gap", info, err)
	}
}

func TestReadWaitsForPushAndClose(t *testing.T) {
	q := New(4)
	got := make(chan error, 2)
	go func() {
		_, _, err := q.Read(make([]byte, 4))
		got <- err
		_, _, err = q.Read(make([]byte, 4))
		got <- err
	}()
	q.Push([]byte{9}, room.FrameInfo{})
	if err := <-got; err != nil {
		t.Fatalf("first read: %v", err)
	}
	q.Close()
	if err := <-got; !errors.Is(err, io.EOF) {
		t.Fatalf("read blocked on an empty queue, then Close: %v", err)
	}
}

func BenchmarkPushRead(b *testing.B) {
	q := New(8)
	frame, buf := make([]byte, 160), make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		q.Push(frame, room.FrameInfo{})
		if _, _, err := q.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// PollFrame never waits: ErrNoFrame on an empty queue, frames in order with the
// gap flag, io.EOF once closed and drained; Queued follows.
func TestPoll(t *testing.T) {
	q := New(2)
	buf := make([]byte, 8)
	if _, _, err := q.PollFrame(buf); !errors.Is(err, room.ErrNoFrame) {
		t.Fatalf("empty: %v, want ErrNoFrame", err)
	}
	for i := range 3 {
		q.Push([]byte{byte(i)}, room.FrameInfo{Timestamp: uint32(i)})
	}
	if q.Queued() != 2 {
		t.Fatalf("Queued = %d, want 2", q.Queued())
	}
	n, info, err := q.PollFrame(buf)
	if err != nil || n != 1 || buf[0] != 1 || !info.Gap {
		t.Fatalf("after an overflow: %d %v %+v %v", n, buf[:n], info, err)
	}
	q.Close()
	if _, info, err := q.PollFrame(buf); err != nil || info.Timestamp != 2 || info.Gap {
		t.Fatalf("queued before Close: %+v %v", info, err)
	}
	if _, _, err := q.PollFrame(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("closed and drained: %v, want EOF", err)
	}
	if a := testing.AllocsPerRun(100, func() { _, _, _ = q.PollFrame(buf) }); a != 0 {
		t.Errorf("PollFrame allocates %v", a)
	}
}
