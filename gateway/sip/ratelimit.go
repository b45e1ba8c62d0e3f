package sip

import (
	"net/netip"
	"sync"
	"time"
)

// requestClass is what a request is rate-limited as.
type requestClass uint8

const (
	classInvite   requestClass = iota // INVITE outside a dialog: a new call
	classRegister                     // REGISTER (we are no registrar, but scanners try)
	classOther                        // OPTIONS and any other request outside a known dialog
	numClasses
)

func (c requestClass) String() string {
	switch c {
	case classInvite:
		return "invite"
	case classRegister:
		return "register"
	}
	return "options"
}

// Bounds of the limiter's table: beyond sweepAbove buckets, full ones are
// dropped (at most once a second); at maxBuckets, sources without a
// bucket share one, so that a flood from spoofed or ever-new addresses
// cannot grow the table without end. Trunk sources always keep their own.
const (
	sweepAbove = 4096
	maxBuckets = 1 << 16
)

// rateLimiter is a token bucket per request class and source: rate tokens
// a second, bursts up to twice that. IPv6 sources are counted per /64, the
// block one subscriber usually holds.
type rateLimiter struct {
	mu       sync.Mutex
	buckets  map[limitKey]*bucket
	overflow [numClasses]bucket
	swept    time.Time
}

type limitKey struct {
	class requestClass
	src   netip.Addr
}

type bucket struct {
	tokens   float64
	last     time.Time
	rate     float64
	answered time.Time // last refusal that got an answer
}

func newRateLimiter() *rateLimiter {
	return &rateLimiter{buckets: make(map[limitKey]*bucket)}
}

// limitSource is the address a source is counted as.
func limitSource(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// allow takes a token of class for src at rate per second. When none is
// left, answer says whether to answer the refusal: once a second per
// bucket, so that a flood is not mirrored back (nor its transactions kept)
// request for request. trunk marks a source of a trunk with its own
// ceiling, which keeps its bucket even when the table is full.
func (r *rateLimiter) allow(class requestClass, src netip.Addr, rate float64, trunk bool, now time.Time) (ok, answer bool) {
	k := limitKey{class: class, src: limitSource(src)}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[k]
	if b == nil {
		if len(r.buckets) >= sweepAbove && now.Sub(r.swept) >= time.Second {
			r.sweep(now)
		}
		switch {
		case len(r.buckets) < maxBuckets || trunk:
			b = &bucket{tokens: burst(rate), last: now, rate: rate}
			r.buckets[k] = b
		default:
			b = &r.overflow[class]
		}
	}
	b.rate = rate
	b.tokens = min(burst(rate), b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, false
	}
	if now.Sub(b.answered) >= time.Second {
		b.answered = now
		return false, true
	}
	return false, false
}

func burst(rate float64) float64 { return max(1, 2*rate) }

// sweep drops buckets that have refilled completely.
func (r *rateLimiter) sweep(now time.Time) {
	r.swept = now
	for k, b := range r.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.rate >= burst(b.rate) {
			delete(r.buckets, k)
		}
	}
}
