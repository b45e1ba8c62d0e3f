package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metrics is one scrape of a Prometheus text exposition (format 0.0.4):
// every sample's value summed over its label sets, and the histograms.
type Metrics struct {
	// At is when the scrape was taken.
	At time.Time
	// Values maps a sample name (histogram series included, e.g.
	// x_bucket, x_sum, x_count) to the sum over its label sets.
	Values map[string]float64
	// Histograms maps a histogram's base name to its buckets, summed over
	// label sets other than le.
	Histograms map[string]Histogram
}

// Value returns the named sample (summed over label sets) and whether it
// was present.
func (m Metrics) Value(name string) (float64, bool) {
	v, ok := m.Values[name]
	return v, ok
}

// Bucket is one cumulative histogram bucket: Count observations ≤ Le.
type Bucket struct {
	Le    float64
	Count float64
}

// Histogram is a cumulative Prometheus histogram, buckets sorted by Le,
// the last one +Inf.
type Histogram struct {
	Buckets []Bucket
	Sum     float64
	Count   float64
}

// Sub returns h − old: the observations made between two scrapes. Buckets
// are matched by bound; a bucket old lacks is taken as it is in h.
func (h Histogram) Sub(old Histogram) Histogram {
	out := Histogram{Sum: h.Sum - old.Sum, Count: h.Count - old.Count, Buckets: make([]Bucket, len(h.Buckets))}
	for i, b := range h.Buckets {
		out.Buckets[i] = b
		for _, ob := range old.Buckets {
			if ob.Le == b.Le {
				out.Buckets[i].Count = b.Count - ob.Count
				break
			}
		}
	}
	return out
}

// Quantile estimates the q-quantile (0 ≤ q ≤ 1) the way Prometheus'
// histogram_quantile does: find the bucket holding rank q·count and
// interpolate linearly within it, taking 0 as the lower bound of the first
// bucket. A rank in the +Inf bucket returns the highest finite bound. It
// returns NaN for an empty histogram.
func (h Histogram) Quantile(q float64) float64 {
	if len(h.Buckets) == 0 || q < 0 || q > 1 || math.IsNaN(q) {
		return math.NaN()
	}
	total := h.Buckets[len(h.Buckets)-1].Count
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range h.Buckets {
		if b.Count >= rank && b.Count > below {
			if math.IsInf(b.Le, 1) {
				if i == 0 {
					return math.NaN()
				}
				return h.Buckets[i-1].Le
			}
			return lower + (b.Le-lower)*(rank-below)/(b.Count-below)
		}
		lower, below = b.Le, b.Count
	}
	return lower
}

// ParseMetrics reads a Prometheus text exposition. Comment lines, NaN
// values and timestamps are handled; sample names are kept as written.
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{Values: map[string]float64{}, Histograms: map[string]Histogram{}}
	buckets := map[string]map[float64]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		name, labels, value, err := parseSample(s)
		if err != nil {
			return Metrics{}, fmt.Errorf("%w: line %d: %w", ErrMetrics, line, err)
		}
		if math.IsNaN(value) {
			continue
		}
		m.Values[name] += value
		if base, ok := strings.CutSuffix(name, "_bucket"); ok {
			le, ok := labelValue(labels, "le")
			if !ok {
				continue
			}
			bound, err := strconv.ParseFloat(le, 64)
			if err != nil {
				return Metrics{}, fmt.Errorf("%w: line %d: le %q: %w", ErrMetrics, line, le, err)
			}
			if buckets[base] == nil {
				buckets[base] = map[float64]float64{}
			}
			buckets[base][bound] += value
		}
	}
	if err := sc.Err(); err != nil {
		return Metrics{}, fmt.Errorf("%w: %w", ErrMetrics, err)
	}
	for base, bs := range buckets {
		h := Histogram{Sum: m.Values[base+"_sum"], Count: m.Values[base+"_count"]}
		for le, c := range bs {
			h.Buckets = append(h.Buckets, Bucket{Le: le, Count: c})
		}
		slices.SortFunc(h.Buckets, func(a, b Bucket) int {
			switch {
			case a.Le < b.Le:
				return -1
			case a.Le > b.Le:
				return 1
			}
			return 0
		})
		m.Histograms[base] = h
	}
	return m, nil
}

// parseSample splits `name{labels} value [timestamp]`.
func parseSample(s string) (name, labels string, value float64, err error) {
	var rest string
	if i := strings.IndexAny(s, "{ \t"); i < 0 {
		return "", "", 0, fmt.Errorf("no value in %q", s)
	} else if s[i] == '{' {
		j := closingBrace(s, i)
		if j < 0 {
			return "", "", 0, fmt.Errorf("unterminated labels in %q", s)
		}
		name, labels, rest = s[:i], s[i+1:j], s[j+1:]
	} else {
		name, rest = s[:i], s[i:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || len(fields) > 2 {
		return "", "", 0, fmt.Errorf("bad value in %q", s)
	}
	value, err = strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", "", 0, fmt.Errorf("value of %s: %w", name, err)
	}
	return name, labels, value, nil
}

// closingBrace finds the '}' that ends the label set opened at open,
// skipping quoted label values (which may hold braces and escaped quotes).
func closingBrace(s string, open int) int {
	inQuote := false
	for i := open + 1; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '}':
			return i
		}
	}
	return -1
}

// labelValue returns the value of label key in `a="x",b="y"`.
func labelValue(labels, key string) (string, bool) {
	for labels != "" {
		eq := strings.IndexByte(labels, '=')
		if eq < 0 || eq+1 >= len(labels) || labels[eq+1] != '"' {
			return "", false
		}
		k := strings.TrimSpace(labels[:eq])
		var b strings.Builder
		i := eq + 2
		for ; i < len(labels) && labels[i] != '"'; i++ {
			if labels[i] == '\\' && i+1 < len(labels) {
				i++
				switch labels[i] {
				case 'n':
					b.WriteByte('\n')
					continue
				}
			}
			b.WriteByte(labels[i])
		}
		if k == key {
			return b.String(), true
		}
		labels = strings.TrimLeft(labels[min(i+1, len(labels)):], ", ")
	}
	return "", false
}

// Scrape fetches and parses url (a /metrics endpoint) with client.
func Scrape(ctx context.Context, client *http.Client, url string) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Metrics{}, fmt.Errorf("%w: %w", ErrMetrics, err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return Metrics{}, fmt.Errorf("%w: %w", ErrMetrics, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return Metrics{}, fmt.Errorf("%w: GET %s: %s", ErrMetrics, url, resp.Status)
	}
	m, err := ParseMetrics(resp.Body)
	if err != nil {
		return Metrics{}, err
	}
	m.At = time.Now()
	return m, nil
}
