package loadgen

import (
	"errors"
	"math"
	"strings"
	"testing"
)

const exposition = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
process_resident_memory_bytes 5.24288e+07
roombridge_calls_total{result="answered"} 10
roombridge_calls_total{result="not_found"} 2
odd_labels{a="x}y",b="q\"uote"} 1 1700000000000
nan_gauge NaN
# TYPE roombridge_hub_tick_seconds histogram
roombridge_hub_tick_seconds_bucket{le="0.001"} 50
roombridge_hub_tick_seconds_bucket{le="0.002"} 90
roombridge_hub_tick_seconds_bucket{le="0.005"} 100
roombridge_hub_tick_seconds_bucket{le="+Inf"} 100
roombridge_hub_tick_seconds_sum 0.12
roombridge_hub_tick_seconds_count 100
`

func TestParseMetrics(t *testing.T) {
	m, err := ParseMetrics(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"process_cpu_seconds_total":         12.5,
		"process_resident_memory_bytes":     52428800,
		"roombridge_calls_total":            12,
		"odd_labels":                        1,
		"roombridge_hub_tick_seconds_sum":   0.12,
		"roombridge_hub_tick_seconds_count": 100,
	} {
		if got, ok := m.Value(name); !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", name, got, ok, want)
		}
	}
	if _, ok := m.Value("nan_gauge"); ok {
		t.Error("NaN sample kept")
	}
	h := m.Histograms["roombridge_hub_tick_seconds"]
	if len(h.Buckets) != 4 || !math.IsInf(h.Buckets[3].Le, 1) || h.Count != 100 || h.Sum != 0.12 {
		t.Fatalf("histogram = %+v", h)
	}
}

func TestParseMetricsErrors(t *testing.T) {
	for _, in := range []string{
		"novalue\n",
		"x{a=\"b\" 1\n",
		"x notanumber\n",
		"x 1 2 3\n",
		"h_bucket{le=\"abc\"} 1\n",
	} {
		if _, err := ParseMetrics(strings.NewReader(in)); !errors.Is(err, ErrMetrics) {
			t.Errorf("ParseMetrics(%q) = %v, want ErrMetrics", in, err)
		}
	}
}

func TestLabelValue(t *testing.T) {
	tests := []struct {
		labels, key, want string
		ok                bool
	}{
		{`le="0.5"`, "le", "0.5", true},
		{`a="x,y", le="+Inf"`, "le", "+Inf", true},
		{`a="q\"x",le="1"`, "le", "1", true},
		{`a="1"`, "le", "", false},
		{``, "le", "", false},
		{`broken`, "le", "", false},
	}
	for _, tt := range tests {
		got, ok := labelValue(tt.labels, tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("labelValue(%q, %q) = %q %v, want %q %v", tt.labels, tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func hist(les []float64, counts []float64) Histogram {
	h := Histogram{}
	for i := range les {
		h.Buckets = append(h.Buckets, Bucket{Le: les[i], Count: counts[i]})
	}
	h.Count = counts[len(counts)-1]
	return h
}

func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	h := hist([]float64{0.001, 0.002, 0.005, inf}, []float64{50, 90, 100, 100})
	tests := []struct {
		q, want float64
	}{
		{0.5, 0.001},           // exactly the first bucket's bound
		{0.25, 0.0005},         // half way into [0, 0.001]
		{0.7, 0.0015},          // half way into (0.001, 0.002]
		{0.95, 0.0035},         // half way into (0.002, 0.005]
		{0.99, 0.002 + 0.0027}, // 90% of the way
		{1, 0.005},             // the top of the last finite bucket
		{0, 0},                 // the lower bound of the first non-empty bucket
	}
	for _, tt := range tests {
		if got := h.Quantile(tt.q); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	// A rank in the +Inf bucket gives the highest finite bound.
	tail := hist([]float64{0.01, 0.05, inf}, []float64{10, 10, 20})
	if got := tail.Quantile(0.99); got != 0.05 {
		t.Errorf("rank in +Inf: %v, want 0.05", got)
	}
	// Empty buckets below the rank are skipped, not interpolated across.
	gap := hist([]float64{0.001, 0.002, 0.005, inf}, []float64{0, 0, 10, 10})
	if got := gap.Quantile(0.5); math.Abs(got-0.0035) > 1e-12 {
		t.Errorf("gap: %v, want 0.0035", got)
	}
	for _, e := range []Histogram{{}, hist([]float64{1, inf}, []float64{0, 0})} {
		if got := e.Quantile(0.5); !math.IsNaN(got) {
			t.Errorf("empty histogram: %v, want NaN", got)
		}
	}
	if got := h.Quantile(1.5); !math.IsNaN(got) {
		t.Errorf("q > 1: %v, want NaN", got)
	}
}

func TestHistogramSub(t *testing.T) {
	inf := math.Inf(1)
	before := hist([]float64{0.001, 0.002, inf}, []float64{100, 150, 150})
	before.Sum = 1
	after := hist([]float64{0.001, 0.002, inf}, []float64{110, 200, 210})
	after.Sum = 3
	d := after.Sub(before)
	want := []float64{10, 50, 60}
	for i, b := range d.Buckets {
		if b.Count != want[i] {
			t.Errorf("bucket %v = %v, want %v", b.Le, b.Count, want[i])
		}
	}
	if d.Count != 60 || d.Sum != 2 {
		t.Errorf("count %v sum %v, want 60 2", d.Count, d.Sum)
	}
	// Against an empty scrape (the metric appeared later) nothing is
	// subtracted.
	if d := after.Sub(Histogram{}); d.Buckets[2].Count != 210 {
		t.Errorf("sub empty: %+v", d)
	}
}
