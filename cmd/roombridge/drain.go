package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/api"
)

// errWebDraining is what a browser joining a draining node is told.
var errWebDraining = errors.New("this server is shutting down; join again in a moment")

// drainProgressEvery is how often a drain logs what is left.
const drainProgressEvery = 30 * time.Second

// drain is the node's graceful shutdown, begun by SIGTERM or POST
// /v1/admin/drain: new calls and web sessions are refused at once while
// those in progress go on until they end or the timeout passes.
type drain struct {
	timeout time.Duration
	// calls and sessions count what is still in progress (SIP legs, web
	// client sessions); set once the gateway and the SFU exist.
	calls, sessions func() int

	once  sync.Once
	begun chan struct{} // closed when the drain begins

	mu    sync.Mutex
	since time.Time
}

func newDrain(timeout time.Duration) *drain {
	zero := func() int { return 0 }
	return &drain{timeout: timeout, calls: zero, sessions: zero, begun: make(chan struct{})}
}

// begin starts the drain; later calls do nothing.
func (d *drain) begin() {
	d.once.Do(func() {
		d.mu.Lock()
		d.since = time.Now()
		d.mu.Unlock()
		close(d.begun)
	})
}

// active reports whether the drain has begun.
func (d *drain) active() bool {
	select {
	case <-d.begun:
		return true
	default:
		return false
	}
}

// state reports the drain for the API, beginning it first with start.
func (d *drain) state(start bool) api.DrainState {
	if start {
		d.begin()
	}
	st := api.DrainState{Draining: d.active(), Calls: d.calls(), Sessions: d.sessions()}
	if st.Draining {
		d.mu.Lock()
		st.Since = d.since.UTC()
		d.mu.Unlock()
		st.Deadline = st.Since.Add(d.timeout)
	}
	return st
}

// describe is the progress line of /readyz.
func (d *drain) describe() string {
	st := d.state(false)
	return fmt.Sprintf("draining: %d calls and %d web sessions remaining; they are ended at %s",
		st.Calls, st.Sessions, st.Deadline.Format(time.RFC3339))
}

// wait returns once nothing is in progress, the timeout has passed since
// the drain began, or a second SIGTERM/SIGINT asks to stop waiting.
func (d *drain) wait(log *slog.Logger) {
	again := make(chan os.Signal, 1)
	signal.Notify(again, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(again)
	d.mu.Lock()
	deadline := time.NewTimer(time.Until(d.since.Add(d.timeout)))
	d.mu.Unlock()
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastLog := time.Now()
	for {
		calls, sessions := d.calls(), d.sessions()
		if calls == 0 && sessions == 0 {
			log.Info("drained: no call or web session left")
			return
		}
		if time.Since(lastLog) >= drainProgressEvery {
			log.Info("draining", "calls", calls, "web_sessions", sessions)
			lastLog = time.Now()
		}
		select {
		case <-deadline.C:
			log.Warn("shutdown.drain_timeout passed: ending what is left", "calls", calls, "web_sessions", sessions)
			return
		case sig := <-again:
			log.Warn("second signal: ending what is left now", "signal", sig, "calls", calls, "web_sessions", sessions)
			return
		case <-tick.C:
		}
	}
}

// register adds the drain's metrics.
func (d *drain) register(reg prometheus.Registerer) error {
	remaining := func(kind string, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "roombridge_drain_remaining",
			Help:        "While draining: SIP calls and web client sessions still in progress on this node (0 when not draining).",
			ConstLabels: prometheus.Labels{"kind": kind},
		}, func() float64 {
			if !d.active() {
				return 0
			}
			return float64(f())
		})
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roombridge_draining",
			Help: "1 while this node drains (SIGTERM or POST /v1/admin/drain): new calls and sessions are refused.",
		}, func() float64 {
			if d.active() {
				return 1
			}
			return 0
		}),
		remaining("sip_calls", func() int { return d.calls() }),
		remaining("web_sessions", func() int { return d.sessions() }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// waitDrained is run's drain: stop taking calls and sessions, then wait.
func (a *app) waitDrained() {
	a.drain.begin()
	a.sip.gw.Drain()
	a.log.Info("draining: new calls and web sessions are refused; waiting for those in progress",
		"calls", a.drain.calls(), "web_sessions", a.drain.sessions(), "timeout", a.cfg.Shutdown.DrainTimeout)
	a.drain.wait(a.log)
}
