package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// scrapeAt builds a Metrics as a scrape would.
func scrapeAt(at time.Time, vals map[string]float64, hs map[string]Histogram) *Metrics {
	if hs == nil {
		hs = map[string]Histogram{}
	}
	return &Metrics{At: at, Values: vals, Histograms: hs}
}

func TestSummariseGateway(t *testing.T) {
	inf := math.Inf(1)
	t0 := time.Unix(1000, 0)
	les := []float64{0.0005, 0.001, 0.002, inf}
	ans := []float64{0.01, 0.025, 0.05, inf}
	s := scrapes{
		before: scrapeAt(t0, map[string]float64{metricLegs: 2, metricRSS: 100 << 20, metricHeap: 10 << 20, metricCPU: 1, metricJoinDrops: 7},
			map[string]Histogram{metricAnswerTime: hist(ans, []float64{5, 5, 5, 5})}),
		up: scrapeAt(t0.Add(10*time.Second), map[string]float64{
			metricLegs: 102, metricCPU: 5, metricTicks: 1000, metricLateTicks: 3,
			metricRTPRecv: 1e5, metricRTPSent: 1e5, metricRTPLost: 10,
		}, map[string]Histogram{metricTickTime: hist(les, []float64{100, 100, 100, 100})}),
		end: scrapeAt(t0.Add(30*time.Second), map[string]float64{
			metricLegs: 102, metricCPU: 15, metricRSS: 120 << 20, metricHeap: 20 << 20, metricTicks: 11000, metricLateTicks: 13,
			metricRTPRecv: 2e5, metricRTPSent: 2.5e5, metricRTPLost: 110,
		}, map[string]Histogram{metricTickTime: hist(les, []float64{100, 5100, 10100, 10100})}),
		after: scrapeAt(t0.Add(40*time.Second), map[string]float64{metricLegs: 2, metricJoinDrops: 507},
			map[string]Histogram{
				metricAnswerTime: hist(ans, []float64{55, 105, 105, 105}),
				metricJoinTime:   hist(ans, []float64{0, 100, 100, 100}),
			}),
	}
	var r Report
	r.summariseGateway(s)
	g := r.Gateway
	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if !g.Scraped {
		t.Fatal("not Scraped")
	}
	check("legs", g.Legs, 100)
	check("cpu %", g.CPUPercent, 50) // 10 s of CPU over 20 s
	check("cpu % per leg", g.CPUPercentPerLeg, 0.5)
	check("rss per leg KiB", g.RSSPerLegKiB, 20*1024/100.0)
	check("rss before", g.RSSBeforeMiB, 100)
	check("heap per leg KiB", g.HeapPerLegKiB, 10*1024/100.0)
	check("late %", g.LateTickPercent, 0.1) // 10 of 10000
	check("tick p50", g.TickMS.P50, 1.0)    // 5000 of 10000 are ≤ 1 ms
	check("tick p95", g.TickMS.P95, 1.9)    // 9500: 90 % into (1, 2] ms
	check("tick p99", g.TickMS.P99, 1.98)
	check("loss %", g.LossPercent, 100*100/(1e5+100))
	check("rtp sent", g.RTPSent, 1.5e5)
	check("setup p50", r.GatewaySetupMS.P50, 10)   // 50 of 100 ≤ 10 ms
	check("setup p99", r.GatewaySetupMS.P99, 24.7) // 99 of 100: 49/50 into (10, 25] ms
	check("tick top bucket", g.TickMS.Top, 2)
	check("join p50", r.JoinMS.P50, 17.5) // 50 of 100: half way into (10, 25] ms
	check("join dropped packets", r.JoinDroppedPackets, 500)
	if r.GatewaySetupMS.N != 100 || g.TickMS.N != 10000 {
		t.Errorf("n = %d, %d", r.GatewaySetupMS.N, g.TickMS.N)
	}

	var none Report
	none.summariseGateway(scrapes{before: s.before})
	if none.Gateway.Scraped {
		t.Error("Scraped without the window's scrapes")
	}
}

func TestSummariseCallers(t *testing.T) {
	start := time.Unix(2000, 0)
	ok := func(setup time.Duration, mos, heard float64, lost int64) legResult {
		return legResult{start: start, rep: &caller.Report{
			Answered: true, Status: 200, SetupTime: setup, MOS: mos, HeardRMS: heard,
			PacketsReceived: 1000 - uint64(lost), Lost: lost, Jitter: 2 * time.Millisecond, Duration: time.Minute,
		}}
	}
	legs := []legResult{
		ok(10*time.Millisecond, 4.4, -20, 0),
		ok(20*time.Millisecond, 4.3, -25, 10),
		ok(30*time.Millisecond, 3.2, -90, 0), // heard silence
		{start: start, rep: &caller.Report{Status: 486, Reason: "Busy Here"}, err: &uac.StatusError{Code: 486, Reason: "Busy Here"}},
		{start: start, rep: &caller.Report{}, err: context.DeadlineExceeded},
		{start: start, err: fmt.Errorf("dial: %w", context.Canceled)},
	}
	dropped := ok(10*time.Millisecond, 4.4, -20, 0)
	dropped.rep.RemoteHangup, dropped.rep.Duration = true, time.Second
	legs = append(legs, dropped)

	var r Report
	r.summariseCallers(legs, -60, start.Add(time.Minute))
	if r.Attempted != 7 || r.Answered != 4 || r.Failed != 3 || r.Dropped != 1 {
		t.Errorf("attempted/answered/failed/dropped = %d/%d/%d/%d, want 7/4/3/1", r.Attempted, r.Answered, r.Failed, r.Dropped)
	}
	for k, want := range map[string]int{"486 Busy Here": 1, "timeout": 1, "canceled": 1} {
		if r.Failures[k] != want {
			t.Errorf("failures[%q] = %d, want %d (%v)", k, r.Failures[k], want, r.Failures)
		}
	}
	if r.Callers.AudioArrived != 3 || math.Abs(r.Callers.AudioFraction-0.75) > 1e-9 {
		t.Errorf("audio arrived %d (%v), want 3 (0.75)", r.Callers.AudioArrived, r.Callers.AudioFraction)
	}
	if want := 100 * 10.0 / 4000; math.Abs(r.Callers.LossPercent-want) > 1e-9 {
		t.Errorf("loss %v, want %v", r.Callers.LossPercent, want)
	}
	if r.SetupMS.N != 4 || r.SetupMS.Max != 30 || r.SetupMS.P50 != 15 {
		t.Errorf("setup = %+v", r.SetupMS)
	}
	if r.Callers.MOS.Min != 3.2 || r.Callers.MOS.N != 4 || math.Abs(r.Callers.MOSMean-4.075) > 1e-9 {
		t.Errorf("mos = %+v mean %v", r.Callers.MOS, r.Callers.MOSMean)
	}
	total := 0
	for _, b := range r.Callers.MOSBuckets {
		total += b.Count
	}
	if total != 4 {
		t.Errorf("MOS bands hold %d callers, want 4: %+v", total, r.Callers.MOSBuckets)
	}

	// The text and JSON forms render without surprises.
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"486 Busy Here", "audio arrived", "3 of 4", "not scraped"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, buf.String())
		}
	}
	if _, err := json.Marshal(&r); err != nil {
		t.Error(err)
	}
}

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5}
	for _, tt := range []struct{ p, want float64 }{{0, 1}, {0.5, 3}, {0.25, 2}, {0.9, 4.6}, {1, 5}} {
		if got := percentile(s, tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile([]float64{7}, 0.99); got != 7 {
		t.Errorf("one sample: %v", got)
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Target: "127.0.0.1:5060", Legs: 25, APIURL: "http://x/"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.RoomSize != 10 || c.Rate != 20 || c.Hold != DefaultHold || c.MetricsURL != "http://x/metrics" || c.Tone != DefaultTone {
		t.Errorf("defaults: %+v", c)
	}
	if c.rooms() != 3 || c.uri(0) != "sip:load-0@127.0.0.1:5060" || c.uri(24) != "sip:load-2@127.0.0.1:5060" {
		t.Errorf("rooms %d, uri(0) %s, uri(24) %s", c.rooms(), c.uri(0), c.uri(24))
	}
	c, err = Config{Target: "h:1", Legs: 50, Ramp: 10 * time.Second}.withDefaults()
	if err != nil || c.Rate != 5 {
		t.Errorf("ramp: rate %v, %v", c.Rate, err)
	}
	for name, bad := range map[string]Config{
		"no target": {Legs: 1},
		"uri":       {Target: "sip:a@b", Legs: 1},
		"no legs":   {Target: "h:1"},
		"ports":     {Target: "h:1", Legs: 10, PortMin: 1000, PortMax: 1010},
		"wav":       {Target: "h:1", Legs: 1, WAVPath: "/nonexistent.wav"},
		"rate":      {Target: "h:1", Legs: 1, Rate: -1},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
