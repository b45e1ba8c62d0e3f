package webhook

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events     *prometheus.CounterVec // event type
	deliveries *prometheus.CounterVec // result: delivered, retried, failed
	dropped    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, d *Dispatcher) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_webhook_events_total",
			Help: "Events queued for at least one webhook endpoint, by type.",
		}, []string{"event"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_webhook_deliveries_total",
			Help: "Webhook requests by result: delivered (2xx), retried (a failed attempt that will be tried again), failed (given up).",
		}, []string{"result"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roombridge_webhook_dropped_total",
			Help: "Webhook deliveries dropped because an endpoint's queue was full (the oldest go first).",
		}),
	}
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "roombridge_webhook_queued",
		Help: "Webhook deliveries waiting, over all endpoints.",
	}, func() float64 {
		n := 0
		for _, ep := range d.endpoints {
			n += ep.queue.Len()
		}
		return float64(n)
	})
	if reg != nil {
		for _, c := range []prometheus.Collector{m.events, m.deliveries, m.dropped, queued} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
