package livekit

import "github.com/prometheus/client_golang/prometheus"

// metrics are the backend's Prometheus collectors. They always exist, so
// that the media path never checks for nil; they are registered only when
// Config.Registerer is set.
type metrics struct {
	packetsDropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		packetsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "roombridge", Subsystem: "livekit", Name: "packets_dropped_total",
			Help: "RTP packets of the gateway's participants dropped (oldest first) because their track's send queue was full: LiveKit, or the way to it, is slower than the room's clock.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	return m, reg.Register(m.packetsDropped)
}
