package sfu

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the SFU's Prometheus collectors. They always exist, so that
// the forwarding path never checks for nil; they are registered only when
// Config.Registerer is set.
type metrics struct {
	rooms            prometheus.Gauge
	participants     *prometheus.GaugeVec
	tracks           *prometheus.GaugeVec
	packetsForwarded prometheus.Counter
	bytesForwarded   prometheus.Counter
	packetsDropped   prometheus.Counter
	keyframeRequests prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "roombridge", "sfu"
	m := &metrics{
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "rooms",
			Help: "Rooms with at least one participant.",
		}),
		participants: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "participants",
			Help: "Participants in all rooms, by kind (webrtc, sip, bot).",
		}, []string{"kind"}),
		tracks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "tracks",
			Help: "Published tracks, by kind (audio, video).",
		}, []string{"kind"}),
		packetsForwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "packets_forwarded_total",
			Help: "RTP packets written to subscribers (one per subscriber).",
		}),
		bytesForwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "bytes_forwarded_total",
			Help: "RTP payload bytes written to subscribers.",
		}),
		packetsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "packets_dropped_total",
			Help: "RTP packets dropped (oldest first) because a WebRTC subscriber's send queue was full: the subscriber is slower than what it receives.",
		}),
		keyframeRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "keyframe_requests_total",
			Help: "Keyframe requests passed on to publishers (after throttling).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.rooms, m.participants, m.tracks, m.packetsForwarded, m.bytesForwarded, m.packetsDropped, m.keyframeRequests} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}
