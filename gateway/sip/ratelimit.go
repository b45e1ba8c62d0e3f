package sip

import (
	"net/netip"
	"sync"
	"time"
)

// rateLimiter is a token bucket per source address for INVITEs: rate tokens
// a second, bursts up to twice that. Idle buckets are swept as the map grows.
type rateLimiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond float64) *rateLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &rateLimiter{
		rate:    perSecond,
		burst:   max(1, 2*perSecond),
		buckets: make(map[netip.Addr]*bucket),
	}
}

// allow takes a token for src, reporting false when none is left. A nil
// limiter allows everything.
func (r *rateLimiter) allow(src netip.Addr, now time.Time) bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buckets) > 1024 && now.Sub(r.swept) > 10*time.Second {
		r.sweep(now)
	}
	b := r.buckets[src]
	if b == nil {
		b = &bucket{tokens: r.burst, last: now}
		r.buckets[src] = b
	}
	b.tokens = min(r.burst, b.tokens+now.Sub(b.last).Seconds()*r.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep drops buckets that have refilled completely.
func (r *rateLimiter) sweep(now time.Time) {
	r.swept = now
	for k, b := range r.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*r.rate >= r.burst {
			delete(r.buckets, k)
		}
	}
}
