// Package loadgen is the load generator behind `roombridge load`: it
// creates rooms through the room API, places many SIP calls into them at a
// steady rate with gateway/caller (each caller in its own goroutine, RTP
// ports from one shared pool), holds them for a steady window, hangs up and
// reports what the callers saw (setup time, loss, jitter, MOS, whether they
// heard the room) next to what the gateway's Prometheus /metrics say about
// the same window (CPU and memory per leg, late hub ticks, hub tick time,
// INVITE→answer time).
//
// The gateway's figures come from counter and histogram deltas between
// scrapes: before the first call, when every leg is up (after a settle
// time), at the end of the steady window, and after the last hang-up.
// Histogram quantiles are interpolated within buckets as Prometheus'
// histogram_quantile does.
package loadgen
