package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roombridge/roombridge/gateway/sip"
)

func registerProcessMetrics(reg *prometheus.Registry) {
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "roombridge_build_info",
			Help:        "Always 1; the version label says which build runs.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
	)
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// registerSIPMetrics exports the SIP server's counters, read when scraped:
// what it refused and dropped, by reason, so that floods, scanners and
// guessing show on a dashboard.
func registerSIPMetrics(reg prometheus.Registerer, srv *sip.Server) error {
	counter := func(name, help string, labels prometheus.Labels, read func(sip.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(read(srv.Stats())) })
	}
	refused := func(reason string, read func(sip.Stats) uint64) prometheus.Collector {
		return counter("roombridge_sip_refused_total", "SIP requests refused before reaching a room, by reason.",
			prometheus.Labels{"reason": reason}, read)
	}
	dropped := func(reason string, read func(sip.Stats) uint64) prometheus.Collector {
		return counter("roombridge_sip_dropped_total", "SIP requests dropped (or, once a second, refused with 503) without serving them, by reason.",
			prometheus.Labels{"reason": reason}, read)
	}
	for _, c := range []prometheus.Collector{
		counter("roombridge_sip_invites_total", "Initial INVITEs that passed the request guard.", nil, func(s sip.Stats) uint64 { return s.Invites }),
		counter("roombridge_sip_challenges_total", "Digest challenges sent (401/407).", nil, func(s sip.Stats) uint64 { return s.Challenges }),
		refused("no_trunk", func(s sip.Stats) uint64 { return s.Forbidden }),
		refused("auth_failed", func(s sip.Stats) uint64 { return s.AuthFailures }),
		refused("auth_replayed", func(s sip.Stats) uint64 { return s.AuthReplays }),
		refused("auth_locked_out", func(s sip.Stats) uint64 { return s.AuthLocked }),
		refused("trunk_max_calls", func(s sip.Stats) uint64 { return s.TrunkFull }),
		refused("protocol", func(s sip.Stats) uint64 { return s.Protocol }),
		dropped("rate_limit", func(s sip.Stats) uint64 { return s.RateLimited }),
		dropped("scanner", func(s sip.Stats) uint64 { return s.Scanners }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
