// Package sendqueue is the bounded queue between code that must never wait
// for the network — a room's 20 ms clock writing a leg's audio, a
// publisher's read loop fanning its packets out — and the one goroutine that
// writes a peer's packets to its PeerConnection (interceptors, SRTP, the
// socket). Both room backends use it: the embedded SFU once per WebRTC
// subscriber, the LiveKit adapter once per published track.
//
// Push copies the payload into one of the queue's buffers and returns at
// once. When the writer falls behind and the queue is full, the oldest
// packet is dropped and counted: for real-time media a late packet is worth
// less than the next one, and a growing delay is worse than a gap.
//
// Buffers come from a free list and go back to it once written, so a queue
// holds as many buffers as it has ever had packets waiting (a few, while its
// writer keeps up; at most its capacity plus one batch) and allocates
// nothing per packet once it has them.
package sendqueue

import (
	"sync"
	"sync/atomic"
)

// batch is how many packets the writer takes out per lock.
const batch = 16

// Queue carries packets, each a payload and the caller's metadata M (what
// the writer needs to build the header: a track, sequence number,
// timestamp…). It is safe for any number of pushers, one Run, and Close
// from anywhere.
type Queue[M any] struct {
	mu      sync.Mutex
	ring    []item[M]
	head, n int
	free    [][]byte
	bufSize int
	closed  bool

	dropped atomic.Uint64
	wake    chan struct{}
	done    chan struct{}
}

type item[M any] struct {
	meta M
	buf  []byte
}

// New makes a queue of capacity packets (at least 1) of up to bufSize
// payload bytes each.
func New[M any](capacity, bufSize int) *Queue[M] {
	capacity = max(capacity, 1)
	return &Queue[M]{
		ring:    make([]item[M], capacity),
		free:    make([][]byte, 0, capacity+batch),
		bufSize: bufSize,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// Push queues a copy of payload with meta and never waits. It returns true
// when a packet was lost to make this one fit (the oldest one, or this one
// if it is larger than the queue's buffers), so that the caller can count it
// in its metrics; Dropped counts them too. After Close it does nothing.
func (q *Queue[M]) Push(meta M, payload []byte) (dropped bool) {
	if len(payload) > q.bufSize {
		q.dropped.Add(1)
		return true
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	var buf []byte
	switch {
	case q.n == len(q.ring):
		old := &q.ring[q.head]
		buf = old.buf
		*old = item[M]{}
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		dropped = true
	case len(q.free) > 0:
		buf = q.free[len(q.free)-1]
		q.free = q.free[:len(q.free)-1]
	default:
		// A new high-water mark: the only allocation, once per depth.
		buf = make([]byte, 0, q.bufSize)
	}
	s := &q.ring[(q.head+q.n)%len(q.ring)]
	s.meta = meta
	s.buf = append(buf[:0], payload...)
	q.n++
	q.mu.Unlock()
	if dropped {
		q.dropped.Add(1)
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return dropped
}

// Run is the writer: it calls write for every queued packet, in order, on
// the calling goroutine, until Close. write must not keep meta or payload
// after it returns. Packets still queued at Close are discarded.
func (q *Queue[M]) Run(write func(meta *M, payload []byte)) {
	var out [batch]item[M]
	for {
		select {
		case <-q.done:
			return
		case <-q.wake:
		}
		for {
			q.mu.Lock()
			if q.closed {
				q.mu.Unlock()
				return
			}
			k := 0
			for ; k < len(out) && q.n > 0; k++ {
				out[k] = q.ring[q.head]
				q.ring[q.head] = item[M]{}
				q.head = (q.head + 1) % len(q.ring)
				q.n--
			}
			q.mu.Unlock()
			if k == 0 {
				break
			}
			// The network writes: no lock is held here.
			for i := range k {
				write(&out[i].meta, out[i].buf)
			}
			q.mu.Lock()
			for i := range k {
				q.free = append(q.free, out[i].buf[:0])
				out[i] = item[M]{}
			}
			q.mu.Unlock()
		}
	}
}

// Close stops Run (after the write in progress, if any) and makes Push a
// no-op. It is idempotent.
func (q *Queue[M]) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	close(q.done)
	for i := range q.ring {
		q.ring[i] = item[M]{}
	}
	q.n = 0
}

// Dropped is the number of packets lost to a full queue (or too large for
// it) so far.
func (q *Queue[M]) Dropped() uint64 { return q.dropped.Load() }

// Len is the number of packets waiting.
func (q *Queue[M]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
