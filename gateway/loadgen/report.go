package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// Metric names read from the gateway's /metrics.
const (
	metricCPU        = "process_cpu_seconds_total"
	metricRSS        = "process_resident_memory_bytes"
	metricHeap       = "go_memstats_heap_inuse_bytes"
	metricLegs       = "roombridge_sip_legs"
	metricTicks      = "roombridge_hub_ticks_total"
	metricLateTicks  = "roombridge_hub_late_ticks_total"
	metricTickTime   = "roombridge_hub_tick_seconds"
	metricLateness   = "roombridge_hub_tick_lateness_seconds"
	metricAnswerTime = "roombridge_invite_to_answer_seconds"
	metricRTPRecv    = "roombridge_rtp_packets_received_total"
	metricRTPSent    = "roombridge_rtp_packets_sent_total"
	metricRTPLost    = "roombridge_rtp_packets_lost_total"
	metricRefusals   = "roombridge_admission_refusals_total"
	metricHeadroom   = "roombridge_headroom"
	metricJoinTime   = "roombridge_room_join_seconds"
	metricJoinDrops  = "roombridge_room_join_dropped_packets_total"
)

// Report is what a load run measured. Times are in milliseconds, CPU in
// percent of one core, memory in KiB or MiB as named.
type Report struct {
	Target    string  `json:"target"`
	Transport string  `json:"transport"`
	Codec     string  `json:"codec"`
	Audio     string  `json:"audio"`
	Legs      int     `json:"legs"`
	RoomSize  int     `json:"room_size"`
	Rooms     int     `json:"rooms"`
	Rate      float64 `json:"rate_cps"`
	HoldMS    float64 `json:"hold_ms"`
	SettleMS  float64 `json:"settle_ms"`

	Started time.Time `json:"started"`
	// RampMS is from the first INVITE to the last answer; WindowMS is the
	// steady window as measured between its two scrapes.
	RampMS   float64 `json:"ramp_ms"`
	WindowMS float64 `json:"window_ms"`
	// LoadAvg is the machine's one-minute load average at the start and
	// end of the steady window (-1 where unknown).
	LoadAvgStart float64 `json:"load_avg_start"`
	LoadAvgEnd   float64 `json:"load_avg_end"`
	// MachineBusyPercent is how busy all the machine's CPUs were over the
	// window (-1 where unknown), and CPUs how many there are: near 100 %
	// means the gateway, the generator and anything else were short of CPU.
	MachineBusyPercent float64 `json:"machine_busy_percent"`
	CPUs               int     `json:"cpus"`

	// Attempted calls, those answered and those that failed, with the
	// failures counted by status ("486 Busy Here") or error kind.
	Attempted int            `json:"attempted"`
	Answered  int            `json:"answered"`
	Failed    int            `json:"failed"`
	Failures  map[string]int `json:"failures,omitempty"`
	// Dropped counts answered legs that the gateway hung up (BYE) before
	// the end of the window.
	Dropped int `json:"dropped"`

	// SetupMS is INVITE → 200 OK as the callers measured it;
	// GatewaySetupMS is the gateway's INVITE → ACK histogram over the run
	// (bucket-interpolated, so coarse).
	SetupMS        Quantiles `json:"setup_ms"`
	GatewaySetupMS Quantiles `json:"gateway_setup_ms"`
	// JoinMS is the gateway's room join histogram over the run (the join
	// runs after the answer: queueing, backend participant, hub, track);
	// JoinDroppedPackets the callers' RTP packets the room did not hear
	// because their join had not ended.
	JoinMS             Quantiles `json:"join_ms"`
	JoinDroppedPackets float64   `json:"join_dropped_packets"`

	Gateway   GatewayStats   `json:"gateway"`
	Callers   CallerStats    `json:"callers"`
	Probe     ProbeStats     `json:"probe"`
	Generator GeneratorStats `json:"generator"`

	Warnings []string `json:"warnings,omitempty"`
}

// Quantiles summarise a distribution. Max and N are set where the samples
// are known one by one (not for histograms); Top is a histogram's highest
// finite bucket bound: a quantile equal to it lies at or above it.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max,omitempty"`
	Top float64 `json:"top_bucket,omitempty"`
	N   int     `json:"n"`
}

// LowQuantiles summarise a distribution whose low tail matters.
type LowQuantiles struct {
	P50 float64 `json:"p50"`
	P5  float64 `json:"p5"`
	P1  float64 `json:"p1"`
	Min float64 `json:"min"`
	N   int     `json:"n"`
}

// GatewayStats are the gateway's figures over the steady window, from its
// /metrics.
type GatewayStats struct {
	// Scraped is false when no metrics URL was set or a scrape failed.
	Scraped bool `json:"scraped"`
	// Legs is roombridge_sip_legs at the end of the window, less what it
	// was before the run.
	Legs float64 `json:"legs"`
	// CPUPercent is process CPU over the window in % of one core;
	// CPUPercentPerLeg divides it by the legs up.
	CPUPercent       float64 `json:"cpu_percent"`
	CPUPercentPerLeg float64 `json:"cpu_percent_per_leg"`
	// RSS before the run and at the end of the window; RSSPerLegKiB is
	// their difference over the legs up.
	RSSBeforeMiB float64 `json:"rss_before_mib"`
	RSSSteadyMiB float64 `json:"rss_steady_mib"`
	RSSPerLegKiB float64 `json:"rss_per_leg_kib"`
	// HeapPerLegKiB is the same for the Go heap in use (no GC headroom,
	// no C allocations such as Opus encoder state).
	HeapPerLegKiB float64 `json:"heap_per_leg_kib"`
	// Hub ticks in the window, the late ones (a frame or more behind) and
	// their share; TickMS is the wall time of one room tick, which bounds
	// the processing latency a frame picks up in each direction.
	Ticks           float64   `json:"ticks"`
	LateTicks       float64   `json:"late_ticks"`
	LateTickPercent float64   `json:"late_tick_percent"`
	TickMS          Quantiles `json:"tick_ms"`
	// LatenessMS is how late ticks started after their 20 ms slot.
	LatenessMS Quantiles `json:"lateness_ms"`
	// RTP packets from and to SIP legs in the window, and the loss the
	// gateway saw on what it received.
	RTPReceived float64 `json:"rtp_received"`
	RTPSent     float64 `json:"rtp_sent"`
	RTPLost     float64 `json:"rtp_lost"`
	LossPercent float64 `json:"loss_percent"`
	// Refusals is how many calls admission control refused (503) over
	// the whole run; Headroom is its gauge at the end of the window (1
	// idle, 0 refusing).
	Refusals float64 `json:"refusals"`
	Headroom float64 `json:"headroom"`
}

// CallerStats are what the answered callers measured on what they heard.
type CallerStats struct {
	// LossPercent is lost / expected over all callers.
	LossPercent float64   `json:"loss_percent"`
	JitterMS    Quantiles `json:"jitter_ms"`
	// MOS is the E-model estimate's spread (its low tail is what
	// matters), MOSMean its mean and MOSBuckets the callers per band.
	MOS        LowQuantiles `json:"mos"`
	MOSMean    float64      `json:"mos_mean"`
	MOSBuckets []MOSCount   `json:"mos_buckets"`
	// AudioArrived counts callers whose heard RMS was above the silence
	// threshold; AudioFraction is their share of the answered ones.
	AudioArrived  int     `json:"audio_arrived"`
	AudioFraction float64 `json:"audio_fraction"`
	// HeardDBFS is the spread of the levels heard.
	HeardDBFS LowQuantiles `json:"heard_dbfs"`
}

// MOSCount is how many callers had a MOS in [From, To).
type MOSCount struct {
	From  float64 `json:"from"`
	To    float64 `json:"to"`
	Count int     `json:"count"`
}

// GeneratorStats are the load generator's own costs, so that a reader can
// tell them from the gateway's when both share a machine.
type GeneratorStats struct {
	CPUPercent float64 `json:"cpu_percent"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// mosBands are the MOS bands of the distribution.
var mosBands = []float64{1, 3, 3.5, 4, 4.2, 4.3, 4.4, 5}

// legResult is one call's outcome.
type legResult struct {
	start time.Time
	rep   *caller.Report
	err   error
}

// answeredAt is when the leg's 200 OK arrived (zero when it did not).
func (l legResult) answeredAt() time.Time {
	if l.rep == nil || !l.rep.Answered {
		return time.Time{}
	}
	return l.start.Add(l.rep.SetupTime)
}

// failureKind names why a call failed, in few enough words to count.
func failureKind(rep *caller.Report, err error) string {
	var se *uac.StatusError
	switch {
	case rep != nil && rep.Status > 0:
		return strings.TrimSpace(fmt.Sprintf("%d %s", rep.Status, rep.Reason))
	case errors.As(err, &se):
		return strings.TrimSpace(fmt.Sprintf("%d %s", se.Code, se.Reason))
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case err == nil:
		return "unknown"
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return "error: " + s
}

// summariseCallers fills the caller-side fields of r from the legs.
func (r *Report) summariseCallers(legs []legResult, silenceDBFS float64, windowEnd time.Time) {
	var setup, jitter, mos, heard []float64
	var lost, expected float64
	r.Attempted = len(legs)
	for _, l := range legs {
		rep := l.rep
		if rep == nil || !rep.Answered {
			r.Failed++
			if r.Failures == nil {
				r.Failures = map[string]int{}
			}
			r.Failures[failureKind(rep, l.err)]++
			continue
		}
		r.Answered++
		if l.err != nil {
			if r.Failures == nil {
				r.Failures = map[string]int{}
			}
			r.Failures["answered, then "+failureKind(nil, l.err)]++
		}
		if rep.RemoteHangup && (windowEnd.IsZero() || l.answeredAt().Add(rep.Duration).Before(windowEnd)) {
			r.Dropped++
		}
		setup = append(setup, ms(rep.SetupTime))
		jitter = append(jitter, ms(rep.Jitter))
		if rep.MOS > 0 {
			mos = append(mos, rep.MOS)
		}
		heard = append(heard, rep.HeardRMS)
		if rep.HeardRMS > silenceDBFS {
			r.Callers.AudioArrived++
		}
		lost += float64(max(rep.Lost, 0))
		expected += float64(rep.PacketsReceived) + float64(max(rep.Lost, 0))
	}
	r.SetupMS = sampleQuantiles(setup)
	r.Callers.JitterMS = sampleQuantiles(jitter)
	r.Callers.MOS = lowQuantiles(mos)
	r.Callers.HeardDBFS = lowQuantiles(heard)
	if expected > 0 {
		r.Callers.LossPercent = 100 * lost / expected
	}
	if r.Answered > 0 {
		r.Callers.AudioFraction = float64(r.Callers.AudioArrived) / float64(r.Answered)
	}
	if len(mos) > 0 {
		sum := 0.0
		for _, m := range mos {
			sum += m
		}
		r.Callers.MOSMean = sum / float64(len(mos))
	}
	for i := 0; i+1 < len(mosBands); i++ {
		c := MOSCount{From: mosBands[i], To: mosBands[i+1]}
		for _, m := range mos {
			if m >= c.From && (m < c.To || i+2 == len(mosBands)) {
				c.Count++
			}
		}
		r.Callers.MOSBuckets = append(r.Callers.MOSBuckets, c)
	}
}

// scrapes are the four /metrics snapshots of a run; a nil one failed or
// was not taken.
type scrapes struct {
	before, up, end, after *Metrics
}

// summariseGateway fills the gateway-side fields of r from the scrapes.
func (r *Report) summariseGateway(s scrapes) {
	if s.before == nil || s.up == nil || s.end == nil {
		return
	}
	g := &r.Gateway
	g.Scraped = true
	delta := func(name string) float64 {
		a, _ := s.up.Value(name)
		b, _ := s.end.Value(name)
		return b - a
	}
	legsBefore, _ := s.before.Value(metricLegs)
	legsEnd, _ := s.end.Value(metricLegs)
	g.Legs = legsEnd - legsBefore
	window := s.end.At.Sub(s.up.At).Seconds()
	if window > 0 {
		g.CPUPercent = 100 * delta(metricCPU) / window
	}
	if g.Legs > 0 {
		g.CPUPercentPerLeg = g.CPUPercent / g.Legs
	}
	rssBefore, _ := s.before.Value(metricRSS)
	rssEnd, _ := s.end.Value(metricRSS)
	g.RSSBeforeMiB, g.RSSSteadyMiB = rssBefore/(1<<20), rssEnd/(1<<20)
	if g.Legs > 0 {
		g.RSSPerLegKiB = (rssEnd - rssBefore) / 1024 / g.Legs
		heapBefore, _ := s.before.Value(metricHeap)
		heapEnd, _ := s.end.Value(metricHeap)
		g.HeapPerLegKiB = (heapEnd - heapBefore) / 1024 / g.Legs
	}
	g.Ticks, g.LateTicks = delta(metricTicks), delta(metricLateTicks)
	if g.Ticks > 0 {
		g.LateTickPercent = 100 * g.LateTicks / g.Ticks
	}
	g.TickMS = histQuantiles(s.end.Histograms[metricTickTime].Sub(s.up.Histograms[metricTickTime]))
	g.LatenessMS = histQuantiles(s.end.Histograms[metricLateness].Sub(s.up.Histograms[metricLateness]))
	g.RTPReceived, g.RTPSent, g.RTPLost = delta(metricRTPRecv), delta(metricRTPSent), delta(metricRTPLost)
	if exp := g.RTPReceived + g.RTPLost; exp > 0 {
		g.LossPercent = 100 * max(g.RTPLost, 0) / exp
	}
	last := s.after
	if last == nil {
		last = s.end
	}
	r.GatewaySetupMS = histQuantiles(last.Histograms[metricAnswerTime].Sub(s.before.Histograms[metricAnswerTime]))
	r.JoinMS = histQuantiles(last.Histograms[metricJoinTime].Sub(s.before.Histograms[metricJoinTime]))
	dropsBefore, _ := s.before.Value(metricJoinDrops)
	dropsAfter, _ := last.Value(metricJoinDrops)
	r.JoinDroppedPackets = dropsAfter - dropsBefore
	refBefore, _ := s.before.Value(metricRefusals)
	refAfter, _ := last.Value(metricRefusals)
	g.Refusals = refAfter - refBefore
	g.Headroom, _ = s.end.Value(metricHeadroom)
}

// histQuantiles are a histogram's p50/p95/p99 in milliseconds (values in
// seconds), zero when it is empty.
func histQuantiles(h Histogram) Quantiles {
	q := func(p float64) float64 {
		v := h.Quantile(p)
		if math.IsNaN(v) {
			return 0
		}
		return v * 1000
	}
	n, top := 0, 0.0
	if len(h.Buckets) > 0 {
		n = int(h.Buckets[len(h.Buckets)-1].Count)
	}
	for _, b := range h.Buckets {
		if !math.IsInf(b.Le, 1) {
			top = b.Le * 1000
		}
	}
	return Quantiles{P50: q(0.5), P95: q(0.95), P99: q(0.99), Top: top, N: n}
}

// sampleQuantiles summarises samples: p50/p95/p99 and the maximum.
func sampleQuantiles(v []float64) Quantiles {
	if len(v) == 0 {
		return Quantiles{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return Quantiles{P50: percentile(s, 0.5), P95: percentile(s, 0.95), P99: percentile(s, 0.99), Max: s[len(s)-1], N: len(s)}
}

// lowQuantiles summarises samples by their low tail.
func lowQuantiles(v []float64) LowQuantiles {
	if len(v) == 0 {
		return LowQuantiles{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return LowQuantiles{P50: percentile(s, 0.5), P5: percentile(s, 0.05), P1: percentile(s, 0.01), Min: s[0], N: len(s)}
}

// percentile interpolates linearly between the closest ranks of sorted.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := p * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (sorted[i+1]-sorted[i])*(pos-float64(i))
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
