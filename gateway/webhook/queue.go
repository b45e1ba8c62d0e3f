package webhook

import (
	"context"
	"sync"
)

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	EventID   string
	EventType string
	// Body is the encoded Event, shared by every endpoint's delivery.
	Body []byte
}

// Queue holds an endpoint's deliveries until its worker sends them. The
// in-memory [MemoryQueue] is the default; a Redis list (LPUSH with LTRIM,
// BRPOP) can stand in for it so that several gateway nodes share one queue
// that survives a restart.
type Queue interface {
	// Push appends d and never blocks: when the queue is full it drops
	// its oldest deliveries and returns how many.
	Push(d Delivery) (dropped int)
	// Pop removes and returns the oldest delivery, waiting for one until
	// ctx ends.
	Pop(ctx context.Context) (Delivery, error)
	// Len is the number of deliveries waiting.
	Len() int
}

// MemoryQueue is a bounded in-process Queue that drops the oldest
// delivery when full: the newest events describe the rooms as they are,
// so they are the ones worth keeping for a receiver that was away.
type MemoryQueue struct {
	mu    sync.Mutex
	buf   []Delivery // ring
	head  int
	n     int
	ready chan struct{} // holds a token while n > 0
}

var _ Queue = (*MemoryQueue)(nil)

// NewMemoryQueue makes a queue holding at most size deliveries.
func NewMemoryQueue(size int) *MemoryQueue {
	return &MemoryQueue{buf: make([]Delivery, max(size, 1)), ready: make(chan struct{}, 1)}
}

// Push implements Queue.
func (q *MemoryQueue) Push(d Delivery) int {
	q.mu.Lock()
	dropped := 0
	if q.n == len(q.buf) {
		q.buf[q.head] = Delivery{}
		q.head = (q.head + 1) % len(q.buf)
		q.n--
		dropped = 1
	}
	q.buf[(q.head+q.n)%len(q.buf)] = d
	q.n++
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return dropped
}

// Pop implements Queue.
func (q *MemoryQueue) Pop(ctx context.Context) (Delivery, error) {
	for {
		q.mu.Lock()
		if q.n > 0 {
			d := q.buf[q.head]
			q.buf[q.head] = Delivery{}
			q.head = (q.head + 1) % len(q.buf)
			q.n--
			more := q.n > 0
			q.mu.Unlock()
			if more {
				select {
				case q.ready <- struct{}{}:
				default:
				}
			}
			return d, nil
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-ctx.Done():
			return Delivery{}, context.Cause(ctx)
		}
	}
}

// Len implements Queue.
func (q *MemoryQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
