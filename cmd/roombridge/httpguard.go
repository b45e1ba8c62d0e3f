package main

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// clientAddr makes r.RemoteAddr the client's address for everything
// behind it (the PIN lockout, the socket bound, logs): a request from one
// of the trusted reverse proxies (http.trusted_proxies) is from the last
// address in its X-Forwarded-For that is not a proxy itself. Addresses a
// client put further left are its own claims and are ignored.
func clientAddr(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isProxy := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !isProxy(peer.Addr()) {
			next.ServeHTTP(w, r)
			return
		}
		var hops []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			hops = append(hops, strings.Split(h, ",")...)
		}
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			if !isProxy(a) {
				r2 := r.Clone(r.Context())
				r2.RemoteAddr = netip.AddrPortFrom(a.Unmap(), 0).String()
				next.ServeHTTP(w, r2)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// socketBound bounds the requests in progress per client address (IPv6:
// per /64): the web client's signalling WebSockets, each of which holds
// two PeerConnections for as long as it is open. Over the bound a client
// gets 429 before the upgrade.
type socketBound struct {
	max     int
	open    prometheus.Gauge
	refused prometheus.Counter

	mu sync.Mutex
	n  map[netip.Addr]int
}

func newSocketBound(max int, reg prometheus.Registerer) (*socketBound, error) {
	b := &socketBound{
		max: max,
		n:   map[netip.Addr]int{},
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roombridge_web_signal_sockets",
			Help: "Web client signalling WebSockets open.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roombridge_web_signal_sockets_refused_total",
			Help: "Web client signalling WebSockets refused (429) because their address had http.max_sockets_per_ip open.",
		}),
	}
	for _, c := range []prometheus.Collector{b.open, b.refused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *socketBound) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := boundKey(r.RemoteAddr)
		if !ok || !b.take(key) {
			b.refused.Inc()
			writeJSONError(w, http.StatusTooManyRequests, "too many connections from your address", "")
			return
		}
		b.open.Inc()
		defer func() {
			b.open.Dec()
			b.release(key)
		}()
		next.ServeHTTP(w, r)
	})
}

func (b *socketBound) take(k netip.Addr) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max > 0 && b.n[k] >= b.max {
		return false
	}
	b.n[k]++
	return true
}

func (b *socketBound) release(k netip.Addr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n[k]--; b.n[k] <= 0 {
		delete(b.n, k)
	}
}

// boundKey is the address a client is counted as: itself, or its /64.
func boundKey(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		host, _, serr := net.SplitHostPort(remote)
		a, perr := netip.ParseAddr(host)
		if serr != nil || perr != nil {
			return netip.Addr{}, false
		}
		ap = netip.AddrPortFrom(a, 0)
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr(), true
	}
	return a, true
}

// requireBearer answers 401 unless the request carries
// "Authorization: Bearer key" (metrics.key); an empty key lets all in.
func requireBearer(key string, next http.Handler) http.Handler {
	if key == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			writeJSONError(w, http.StatusUnauthorized, "metrics.key required", "Authorization")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeJSONError answers {"error","field"} like the room API.
func writeJSONError(w http.ResponseWriter, code int, msg, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Field string `json:"field,omitempty"`
	}{msg, field})
}
