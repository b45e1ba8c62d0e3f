package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report as a human-readable table.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { _, _ = fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, a...)) }
	head := func(s string) { _, _ = fmt.Fprintf(tw, "\n%s\t\n", strings.ToUpper(s)) }

	head("run")
	row("target", "%s (%s), codec %s, audio: %s", r.Target, r.Transport, r.Codec, r.Audio)
	row("legs", "%d in %d rooms of %d", r.Legs, r.Rooms, r.RoomSize)
	row("call rate", "%.1f calls/s", r.Rate)
	row("ramp", "%.1f s (first INVITE to last 200 OK)", r.RampMS/1000)
	row("steady window", "%.1f s after %.1f s settle", r.WindowMS/1000, r.SettleMS/1000)
	row("load average", "%s at start, %s at end", loadAvg(r.LoadAvgStart), loadAvg(r.LoadAvgEnd))
	if r.MachineBusyPercent >= 0 {
		row("machine CPU busy", "%.1f %% of %d CPUs in the window", r.MachineBusyPercent, r.CPUs)
	}

	head("calls")
	row("attempted / answered / failed", "%d / %d / %d", r.Attempted, r.Answered, r.Failed)
	for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
		row("  failed: "+k, "%d", r.Failures[k])
	}
	row("dropped by the gateway", "%d", r.Dropped)
	row("INVITE→200 (callers)", "%s", quant(r.SetupMS, "ms"))
	if r.Gateway.Scraped {
		row("INVITE→ACK (gateway histogram)", "%s", quant(r.GatewaySetupMS, "ms"))
		if r.JoinMS.N > 0 {
			row("room join after the answer", "%s", quant(r.JoinMS, "ms"))
			row("caller packets before the join", "%.0f dropped (%.1f per call)", r.JoinDroppedPackets, r.JoinDroppedPackets/float64(r.JoinMS.N))
		}
	}

	head("gateway (steady window)")
	if g := r.Gateway; g.Scraped {
		row("legs up", "%.0f", g.Legs)
		row("CPU", "%.1f %% of one core total, %.3f %% per leg", g.CPUPercent, g.CPUPercentPerLeg)
		row("RSS", "%.1f MiB before, %.1f MiB steady, %.0f KiB per leg (Go heap in use: %.0f KiB per leg)",
			g.RSSBeforeMiB, g.RSSSteadyMiB, g.RSSPerLegKiB, g.HeapPerLegKiB)
		row("hub ticks", "%.0f, %.0f late (%.3f %%)", g.Ticks, g.LateTicks, g.LateTickPercent)
		row("hub tick time", "%s", quant(g.TickMS, "ms"))
		row("hub tick lateness", "%s", quant(g.LatenessMS, "ms"))
		row("RTP in / out / lost", "%.0f / %.0f / %.0f (%.3f %% loss)", g.RTPReceived, g.RTPSent, g.RTPLost, g.LossPercent)
		row("admission", "%.0f calls refused with 503 over the run; headroom %.2f at the end of the window", g.Refusals, g.Headroom)
	} else {
		row("metrics", "not scraped")
	}

	head("callers (what they heard)")
	c := r.Callers
	row("audio arrived", "%d of %d (%.1f %%)", c.AudioArrived, r.Answered, 100*c.AudioFraction)
	row("heard level", "p50 %.1f, p5 %.1f, min %.1f dBFS", c.HeardDBFS.P50, c.HeardDBFS.P5, c.HeardDBFS.Min)
	row("loss", "%.3f %%", c.LossPercent)
	row("jitter", "%s", quant(c.JitterMS, "ms"))
	row("MOS", "mean %.2f, p50 %.2f, p5 %.2f, p1 %.2f, min %.2f", c.MOSMean, c.MOS.P50, c.MOS.P5, c.MOS.P1, c.MOS.Min)
	var bands []string
	for _, b := range c.MOSBuckets {
		if b.Count > 0 {
			bands = append(bands, fmt.Sprintf("[%.1f,%.1f): %d", b.From, b.To, b.Count))
		}
	}
	row("MOS bands", "%s", strings.Join(bands, "  "))

	if p := r.Probe; p.Placed {
		head("probe (its own room: a tone and a listener)")
		if p.Answered {
			row("bad frames heard", "%d of %d (%.3f %%), longest run %.0f ms", p.Bad, p.Frames, p.BadPercent, p.LongestBadMS)
			row("probe's own clocks", "%d late wake-ups caught up, %d frames lost to longer stalls", p.LateTicks, p.SkippedFrames)
		} else {
			row("bad frames heard", "probe not answered")
		}
	}

	head("load generator (same machine)")
	row("CPU", "%.1f %% of one core in the window, %.1f s over the run", r.Generator.CPUPercent, r.Generator.CPUSeconds)

	if len(r.Warnings) > 0 {
		head("warnings")
		for _, s := range r.Warnings {
			row("!", "%s", s)
		}
	}
	return tw.Flush()
}

// quant formats p50/p95/p99 (and max when known).
func quant(q Quantiles, unit string) string {
	if q.N == 0 {
		return "no samples"
	}
	f := func(v float64) string {
		if q.Top > 0 && v >= q.Top {
			return fmt.Sprintf("≥%.2f", q.Top)
		}
		return fmt.Sprintf("%.2f", v)
	}
	s := fmt.Sprintf("p50 %s, p95 %s, p99 %s", f(q.P50), f(q.P95), f(q.P99))
	if q.Max > 0 {
		s += fmt.Sprintf(", max %.2f", q.Max)
	}
	return fmt.Sprintf("%s %s (n=%d)", s, unit, q.N)
}

// loadAvg formats a load average, "?" when unknown.
func loadAvg(v float64) string {
	if v < 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", v)
}
