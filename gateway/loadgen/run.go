package loadgen

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/headroom"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// Run creates the rooms, places cfg.Legs calls at cfg.Rate, waits until
// every leg is up and cfg.Settle more, measures a steady window of
// cfg.Hold, hangs every leg up, deletes the rooms it created and reports.
//
// Calls that fail are counted in the report, not returned as errors. Run
// returns an error for a Config that cannot run, rooms that cannot be
// created, or ctx ending (then with the partial report); a failing scrape
// only leaves the gateway's side of the report empty, with a warning.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if !cfg.LocalIP.IsValid() {
		if cfg.LocalIP, err = uac.LocalIPFor(ctx, cfg.uri(0)); err != nil {
			return nil, fmt.Errorf("loadgen: local address: %w", err)
		}
	}
	pool, err := rtp.NewPortPool(cfg.LocalIP, cfg.PortMin, cfg.PortMax)
	if err != nil {
		return nil, fmt.Errorf("%w: ports: %w", ErrInvalidConfig, err)
	}
	r := &Report{
		Target: cfg.Target, Transport: cfg.Transport.String(), Codec: strings.ToLower(cfg.Codec.String()),
		Legs: cfg.Legs, RoomSize: cfg.RoomSize, Rooms: cfg.rooms(), Rate: cfg.Rate,
		HoldMS: ms(cfg.Hold), SettleMS: ms(cfg.Settle), LoadAvgStart: -1, LoadAvgEnd: -1, MachineBusyPercent: -1,
		Audio: fmt.Sprintf("tone %g Hz", cfg.Tone),
	}
	if cfg.Transport == uac.TransportUnknown {
		r.Transport = "udp"
	}
	if cfg.Codec == caller.CodecUnknown {
		r.Codec = strings.ToLower(caller.CodecPCMU.String())
	}
	if cfg.WAV != nil {
		r.Audio = fmt.Sprintf("WAV %.1f s at %d Hz, looped", float64(len(cfg.WAV.Samples))/float64(max(cfg.WAV.Rate, 1)), cfg.WAV.Rate)
	}
	warn := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		r.Warnings = append(r.Warnings, msg)
		log.Warn(msg)
	}

	// Rooms.
	a := api{base: cfg.APIURL, key: cfg.APIKey, client: cfg.HTTPClient}
	var created []string
	defer func() {
		if len(created) == 0 {
			return
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultHangupTimeout)
		defer cancel()
		for _, name := range created {
			if err := a.deleteRoom(dctx, name); err != nil {
				warn("deleting room %s: %v", name, err)
			}
		}
		log.Info("rooms deleted", "rooms", len(created))
	}()
	if cfg.APIURL != "" {
		names := make([]string, 0, cfg.rooms()+1)
		for k := range cfg.rooms() {
			names = append(names, cfg.roomName(k))
		}
		if cfg.Probe {
			names = append(names, cfg.probeRoom())
		}
		for _, name := range names {
			made, err := a.createRoom(ctx, name)
			if err != nil {
				return nil, err
			}
			if made {
				created = append(created, name)
			}
		}
		log.Info("rooms ready", "rooms", cfg.rooms(), "created", len(created))
	}

	var sc scrapes
	scrape := func(what string) *Metrics {
		if cfg.MetricsURL == "" {
			return nil
		}
		m, err := Scrape(ctx, cfg.HTTPClient, cfg.MetricsURL)
		if err != nil {
			warn("scrape %s: %v", what, err)
			return nil
		}
		return &m
	}
	// Calls: started on a ticker, each in its own goroutine, all hung up
	// together by cancelling hangCtx at the end of the window.
	hangCtx, hangup := context.WithCancel(ctx)
	defer hangup()
	results := make([]legResult, cfg.Legs)
	var wg sync.WaitGroup
	var ended atomic.Int64
	base := caller.Options{
		Transport: cfg.Transport, Codec: cfg.Codec, Tone: cfg.Tone, Play: cfg.WAV, Loop: cfg.WAV != nil,
		LocalIP: cfg.LocalIP, Ports: pool, RTCPInterval: cfg.RTCPInterval,
		// A safety net only: legs normally end when hangCtx is cancelled.
		Duration: time.Duration(float64(cfg.Legs)/cfg.Rate*float64(time.Second)) + cfg.UpTimeout + 2*cfg.Settle + cfg.Hold + time.Minute,
	}
	// The probe comes first, so that it is up (and admitted) before the
	// load arrives.
	var pr *probe
	if cfg.Probe {
		pr = startProbe(hangCtx, base, cfg)
		log.Info("probe placed", "room", cfg.probeRoom())
		sleep(ctx, cfg.Settle)
	}

	sc.before = scrape("before")
	legsBefore := 0.0
	if sc.before != nil {
		legsBefore, _ = sc.before.Value(metricLegs)
	}
	cpu0 := headroom.ProcessCPU()
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	tick := time.NewTicker(interval)
	r.Started = time.Now()
	log.Info("placing calls", "legs", cfg.Legs, "rooms", cfg.rooms(), "rate", cfg.Rate)
	var lastStart time.Time
place:
	for i := range cfg.Legs {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				break place
			}
		}
		o := base
		o.Target = cfg.uri(i)
		if cfg.CallLogger != nil {
			o.Logger = cfg.CallLogger.With("leg", i)
		}
		lastStart = time.Now()
		results[i].start = lastStart
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ended.Add(1)
			results[i].rep, results[i].err = caller.Run(hangCtx, o)
		}()
	}
	tick.Stop()
	if n := cfg.Legs - 1; n > 0 && lastStart.After(r.Started) {
		r.Rate = float64(n) / lastStart.Sub(r.Started).Seconds()
	}

	// Wait for every leg to be up: the gateway's leg gauge has them all
	// (less the calls that already ended), then settle.
	if sc.before != nil {
		up := false
		deadline := time.Now().Add(cfg.UpTimeout)
		poll := time.NewTicker(defaultPollInterval)
		for !up && ctx.Err() == nil && time.Now().Before(deadline) {
			m, err := Scrape(ctx, cfg.HTTPClient, cfg.MetricsURL)
			if err == nil {
				v, _ := m.Value(metricLegs)
				up = v-legsBefore >= float64(cfg.Legs)-float64(ended.Load())
			}
			if !up {
				select {
				case <-poll.C:
				case <-ctx.Done():
				}
			}
		}
		poll.Stop()
		if !up && ctx.Err() == nil {
			warn("not every leg was up %v after the last INVITE; steady window started anyway", cfg.UpTimeout)
		}
	} else {
		warn("no gateway metrics: the steady window starts %v after the last INVITE without checking the legs are up", cfg.Settle)
	}
	sleep(ctx, cfg.Settle)
	log.Info("steady window", "hold", cfg.Hold)
	sc.up = scrape("steady start")
	windowStart, cpu1 := time.Now(), headroom.ProcessCPU()
	r.LoadAvgStart = loadAverage()
	busy1, total1, machineOK := machineCPU()
	sleep(ctx, cfg.Hold)
	sc.end = scrape("steady end")
	windowEnd, cpu2 := time.Now(), headroom.ProcessCPU()
	r.LoadAvgEnd = loadAverage()
	r.CPUs, r.MachineBusyPercent = runtime.NumCPU(), -1
	if busy2, total2, ok := machineCPU(); ok && machineOK && total2 > total1 {
		r.MachineBusyPercent = 100 * (busy2 - busy1) / (total2 - total1)
	}
	r.WindowMS = ms(windowEnd.Sub(windowStart))
	if sc.up != nil && sc.end != nil {
		r.WindowMS = ms(sc.end.At.Sub(sc.up.At))
	}
	if w := windowEnd.Sub(windowStart).Seconds(); w > 0 {
		r.Generator.CPUPercent = 100 * (cpu2 - cpu1).Seconds() / w
	}

	log.Info("hanging up")
	hangup()
	wg.Wait()
	r.Generator.CPUSeconds = (headroom.ProcessCPU() - cpu0).Seconds()
	sc.after = waitLegsGone(ctx, cfg, legsBefore, warn)

	var lastAnswer time.Time
	late := 0
	for _, l := range results {
		if t := l.answeredAt(); t.After(lastAnswer) {
			lastAnswer = t
		}
		if t := l.answeredAt(); !t.IsZero() && t.After(windowStart) {
			late++
		}
	}
	if !lastAnswer.IsZero() {
		r.RampMS = ms(lastAnswer.Sub(r.Started))
	}
	if late > 0 {
		warn("%d legs were answered after the steady window began", late)
	}
	r.summariseCallers(results[:placed(results)], cfg.SilenceDBFS, windowEnd)
	r.summariseGateway(sc)
	if pr != nil {
		r.Probe = pr.stats(cfg.Hold)
		if !r.Probe.Answered {
			warn("the probe calls were not both answered: %v / %v", pr.talker.err, pr.listener.err)
		}
	}
	if r.Gateway.Scraped && int(r.Gateway.Legs) < r.Answered-r.Dropped {
		warn("the gateway counted %.0f legs at the end of the window, %d callers were up", r.Gateway.Legs, r.Answered-r.Dropped)
	}
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("loadgen: run interrupted: %w", context.Cause(ctx))
	}
	return r, nil
}

// placed is how many legs were started (all of them unless the run was
// interrupted).
func placed(results []legResult) int {
	for i, l := range results {
		if l.start.IsZero() {
			return i
		}
	}
	return len(results)
}

// waitLegsGone polls the gateway until its leg gauge is back where it was
// before the run (bounded), and returns that last scrape.
func waitLegsGone(ctx context.Context, cfg Config, before float64, warn func(string, ...any)) *Metrics {
	if cfg.MetricsURL == "" {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(defaultHangupTimeout)
	poll := time.NewTicker(defaultPollInterval)
	defer poll.Stop()
	var last *Metrics
	for {
		m, err := Scrape(ctx, cfg.HTTPClient, cfg.MetricsURL)
		if err == nil {
			last = &m
			if v, _ := m.Value(metricLegs); v <= before {
				return last
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				warn("scrape after: %v", err)
			} else if v, _ := m.Value(metricLegs); v > before {
				warn("the gateway still had %.0f legs more than before %v after the last hang-up", v-before, defaultHangupTimeout)
			}
			return last
		}
		<-poll.C
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
