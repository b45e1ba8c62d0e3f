// Package framequeue is the bounded queue of frames behind room.RemoteTrack
// in both backends: the forwarder (one goroutine) pushes frames into a fixed
// ring of reused buffers and never waits; the reader takes them out. When the
// reader falls behind, the oldest frame is dropped and the next frame read
// says so (FrameInfo.Gap), which is what a media reader wants: fresh audio,
// not a growing delay.
package framequeue

import (
	"io"
	"sync"

	"github.com/roombridge/roombridge/gateway/room"
)

// Queue is safe for one pusher and one reader at a time, plus Close from
// anywhere.
type Queue struct {
	mu      sync.Mutex
	slots   []slot
	head, n int
	dropped bool // the ring overflowed: the next frame read follows a gap
	closed  bool
	ready   chan struct{}
	done    chan struct{}
}

type slot struct {
	buf  []byte
	info room.FrameInfo
}

// New makes a queue of size frames (at least 1). Slot buffers grow to the
// largest frame seen and are then reused.
func New(size int) *Queue {
	return &Queue{slots: make([]slot, max(size, 1)), ready: make(chan struct{}, 1), done: make(chan struct{})}
}

// Push copies frame into the queue, dropping the oldest frame when full.
// Frames pushed after Close are ignored.
func (q *Queue) Push(frame []byte, info room.FrameInfo) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if q.n == len(q.slots) {
		q.head = (q.head + 1) % len(q.slots)
		q.n--
		q.dropped = true
	}
	s := &q.slots[(q.head+q.n)%len(q.slots)]
	s.buf = append(s.buf[:0], frame...)
	s.info = info
	q.n++
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// A Queue is a room.FramePoller, so that a backend's remote track can
// offer the hub its queue as it is.
var _ room.FramePoller = (*Queue)(nil)

// PollFrame is Read without waiting: room.ErrNoFrame when the queue is
// empty and not closed.
func (q *Queue) PollFrame(buf []byte) (int, room.FrameInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n > 0 {
		return q.takeLocked(buf)
	}
	if q.closed {
		return 0, room.FrameInfo{}, io.EOF
	}
	return 0, room.FrameInfo{}, room.ErrNoFrame
}

// Queued is how many frames are queued.
func (q *Queue) Queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// takeLocked copies the oldest frame into buf and removes it, flagging a
// gap when frames were dropped before it; io.ErrShortBuffer leaves it
// queued. q.mu is held and q.n > 0.
func (q *Queue) takeLocked(buf []byte) (int, room.FrameInfo, error) {
	s := &q.slots[q.head]
	if len(buf) < len(s.buf) {
		return 0, room.FrameInfo{}, io.ErrShortBuffer
	}
	n := copy(buf, s.buf)
	info := s.info
	if q.dropped {
		info.Gap, q.dropped = true, false
	}
	q.head = (q.head + 1) % len(q.slots)
	q.n--
	return n, info, nil
}

// Read copies the oldest frame into buf, waiting for one. Frames queued
// before Close are still returned, then io.EOF; io.ErrShortBuffer leaves
// the frame queued.
func (q *Queue) Read(buf []byte) (int, room.FrameInfo, error) {
	for {
		q.mu.Lock()
		if q.n > 0 {
			n, info, err := q.takeLocked(buf)
			q.mu.Unlock()
			return n, info, err
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return 0, room.FrameInfo{}, io.EOF
		}
		select {
		case <-q.ready:
		case <-q.done:
		}
	}
}

// Close ends the queue: Read drains what is queued, then returns io.EOF.
// It is idempotent.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.done)
	}
}

// Closed reports whether Close was called.
func (q *Queue) Closed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// Discard drops every queued frame, for a reader that skips ahead to live
// media after a pause. The next frame read is flagged as following a gap.
func (q *Queue) Discard() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n > 0 {
		q.head, q.n, q.dropped = 0, 0, true
	}
}
