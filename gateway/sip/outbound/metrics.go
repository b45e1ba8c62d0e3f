package outbound

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	regState     *prometheus.GaugeVec   // trunk: 1 registered, 0 not
	regFailures  *prometheus.CounterVec // trunk
	optFailures  *prometheus.CounterVec // trunk
	trunkUp      *prometheus.GaugeVec   // trunk: OPTIONS health 1 up / 0 down
	failovers    *prometheus.CounterVec // from trunk
	attempts     *prometheus.CounterVec // trunk, result
	activeCalls  *prometheus.GaugeVec   // trunk
	dialOutcomes *prometheus.CounterVec // result
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		regState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roombridge_trunk_registered",
			Help: "1 while an outbound trunk's registration is in force, else 0.",
		}, []string{"trunk"}),
		regFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_trunk_registration_failures_total",
			Help: "REGISTER attempts to a carrier that failed.",
		}, []string{"trunk"}),
		optFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_trunk_options_failures_total",
			Help: "OPTIONS pings to a carrier that got no (or a 503/408) answer.",
		}, []string{"trunk"}),
		trunkUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roombridge_trunk_up",
			Help: "1 while an outbound trunk answers its OPTIONS pings (or is not pinged), 0 while it is skipped.",
		}, []string{"trunk"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_outbound_failovers_total",
			Help: "Outbound call attempts that moved on to the next trunk, by the trunk that failed.",
		}, []string{"trunk"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_outbound_attempts_total",
			Help: "INVITEs sent to a server of an outbound trunk, by result (answered, rejected, failover, cancelled).",
		}, []string{"trunk", "result"}),
		activeCalls: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roombridge_trunk_active_calls",
			Help: "Outbound calls answered through a trunk and not yet hung up.",
		}, []string{"trunk"}),
		dialOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_outbound_calls_total",
			Help: "Outbound calls by outcome (answered, rejected, failed, cancelled).",
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.regState, m.regFailures, m.optFailures, m.trunkUp, m.failovers, m.attempts, m.activeCalls, m.dialOutcomes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
