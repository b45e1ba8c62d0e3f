package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/bridge"
	"github.com/roombridge/roombridge/gateway/headroom"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/ivr"
)

// Call results, the values of the calls_total "result" label. A small fixed
// set, so that a hostile caller cannot grow the metric's cardinality.
const (
	resultAnswered     = "answered"
	resultNotFound     = "not_found"
	resultMoved        = "moved"
	resultForbidden    = "forbidden"
	resultNotAccept    = "not_acceptable"
	resultUnavailable  = "unavailable"
	resultCanceled     = "canceled"
	resultFailed       = "failed"
	resultDrainRefused = "draining"
	resultOverloaded   = "overloaded"
)

// metrics are the gateway's Prometheus metrics. RTP packet counters are
// read from the sessions when scraped (sum over live legs plus what ended
// legs left behind), so the media path pays nothing for them.
type metrics struct {
	calls       *prometheus.CounterVec
	answerDelay prometheus.Histogram
	mos         prometheus.Histogram
	lateTicks   prometheus.Counter
	ticks       prometheus.Counter
	tickTime    prometheus.Histogram
	lateness    prometheus.Histogram
	ivrOutcomes *prometheus.CounterVec
	pinChecks   *prometheus.CounterVec
	dtmfDigits  *prometheus.CounterVec
	refusals    *prometheus.CounterVec
	nodeBridges *prometheus.CounterVec
	// videoBandwidth counts RTCP TMMBR, TMMBN and REMB on room systems'
	// video, by direction (received, sent) and kind.
	videoBandwidth *prometheus.CounterVec
}

// Labels of roombridge_video_bandwidth_messages_total.
const (
	bwReceived = "received"
	bwSent     = "sent"
	bwTMMBR    = "tmmbr"
	bwTMMBN    = "tmmbn"
	bwREMB     = "remb"
)

// IVR outcomes beyond those of package ivr (joined, wrong_pin, timeout,
// hung_up_in_ivr, error): a source refused or cut off for wrong PINs.
const outcomeLockedOut = "locked_out"

// PIN check results, the label of roombridge_ivr_pin_checks_total.
const (
	pinAccepted = "accepted"
	pinRejected = "rejected"
)

// Node bridge results, the label of roombridge_node_bridges_total.
const (
	bridgeOut      = "out"      // a PIN caller sent to its room's node
	bridgeFallback = "fallback" // the room's node did not take it: joined here
	bridgeIn       = "in"       // another node's caller let in by its token
	bridgeForged   = "refused"  // a bridge INVITE whose token did not check
)

// rtpTotals are the packet counters of one or more legs.
type rtpTotals struct {
	received, sent, lost float64
}

func newMetrics(g *Gateway, head *headroom.Monitor, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_calls_total",
			Help: "SIP calls handled by the gateway, by result.",
		}, []string{"result"}),
		answerDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roombridge_invite_to_answer_seconds",
			Help:    "Time from an INVITE reaching the gateway to the ACK of its 200 OK.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}),
		mos: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roombridge_leg_mos",
			Help:    "E-model MOS estimate of each SIP leg's received audio, at the end of the call.",
			Buckets: []float64{1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4, 4.5},
		}),
		lateTicks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roombridge_hub_late_ticks_total",
			Help: "Room audio hub ticks that started a frame (20 ms) or more late (the clock goroutine was starved).",
		}),
		ticks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roombridge_hub_ticks_total",
			Help: "Room audio hub ticks run (one per room per 20 ms).",
		}),
		tickTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "roombridge_hub_tick_seconds",
			Help: "Wall time of one room tick: every leg's frame in (decode, Opus encode, publish), " +
				"one mix, every leg's frame out (encode, send). It bounds the processing latency a frame picks up in the gateway, each way.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05},
		}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roombridge_hub_tick_lateness_seconds",
			Help:    "How late each room hub tick started after its 20 ms slot: what the clock goroutine waited for a core. A frame (0.02) or more counts as a late tick.",
			Buckets: []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16},
		}),
		videoBandwidth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_video_bandwidth_messages_total",
			Help: "RTCP bit-rate messages on room systems' video, by direction (received, sent) and kind (tmmbr, tmmbn, remb).",
		}, []string{"direction", "kind"}),
		ivrOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_ivr_outcomes_total",
			Help: "Calls that left the PIN IVR, by outcome: joined, wrong_pin, timeout, hung_up_in_ivr, locked_out (INVITEs refused and calls ended by the PIN lockout), error (the PIN store failed).",
		}, []string{"outcome"}),
		pinChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_ivr_pin_checks_total",
			Help: "PINs entered in the IVR and looked up, by result (accepted, rejected).",
		}, []string{"result"}),
		dtmfDigits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_dtmf_digits_total",
			Help: "DTMF digits received from SIP legs, after removing copies of one press sent two ways, by the transport that delivered them (rfc4733, info, inband).",
		}, []string{"transport"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_admission_refusals_total",
			Help: "New calls refused with 503 to keep the audio of the calls up, by the ceiling reached: max_legs (limits.max_legs), cpu (limits.max_cpu), machine_cpu (limits.max_machine_cpu), late_ticks (limits.max_late_ticks: room clocks starting 60 ms late).",
		}, []string{"reason"}),
		nodeBridges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_node_bridges_total",
			Help: "PIN callers bridged between nodes, by result: out (sent to the node of their room), fallback (that node did not answer: joined here), in (let in from another node by its token), refused (a bridge INVITE whose token did not check: treated as any call).",
		}, []string{"result"}),
	}
	for _, r := range []string{bridgeOut, bridgeFallback, bridgeIn, bridgeForged} {
		m.nodeBridges.WithLabelValues(r)
	}
	for _, d := range []string{bwReceived, bwSent} {
		for _, k := range []string{bwTMMBR, bwTMMBN, bwREMB} {
			m.videoBandwidth.WithLabelValues(d, k)
		}
	}
	for _, r := range headroom.Reasons() {
		m.refusals.WithLabelValues(r.String())
	}
	for _, o := range ivr.Outcomes() {
		m.ivrOutcomes.WithLabelValues(o.String())
	}
	m.ivrOutcomes.WithLabelValues(outcomeLockedOut)
	for _, r := range []string{pinAccepted, pinRejected} {
		m.pinChecks.WithLabelValues(r)
	}
	for _, s := range []dtmf.Source{dtmf.SourceRFC4733, dtmf.SourceINFO, dtmf.SourceInband} {
		m.dtmfDigits.WithLabelValues(s.String())
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{
		m.calls, m.answerDelay, m.mos, m.lateTicks, m.ticks, m.tickTime, m.lateness,
		m.ivrOutcomes, m.pinChecks, m.dtmfDigits, m.refusals, m.nodeBridges, m.videoBandwidth,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roombridge_headroom",
			Help: "How far the gateway is below its nearest admission ceiling, 1 (idle) to 0 (refusing new calls): 1 − max(cpu/limits.max_cpu, machine cpu/limits.max_machine_cpu, late tick share/its ceiling, legs/limits.max_legs), over the last seconds.",
		}, func() float64 { return head.State().Headroom }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roombridge_process_cpu_share",
			Help: "CPU time the process used over the admission window, as a share of the cores it may use.",
		}, func() float64 { return head.State().CPU }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roombridge_machine_cpu_share",
			Help: "The whole machine's busy CPU time (every process) over the admission window, as a share of all its cores: the measure limits.max_machine_cpu caps.",
		}, func() float64 { return head.State().MachineCPU }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roombridge_hub_late_tick_share",
			Help: "Share of room hub ticks over the admission window that started 60 ms (three frames) or more late: the measure limits.max_late_ticks caps.",
		}, func() float64 { return head.State().Late }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roombridge_sip_legs",
			Help: "SIP legs in progress (admitted and not yet ended).",
		}, func() float64 { return float64(g.activeCalls()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roombridge_room_hubs",
			Help: "Room audio hubs running on this node.",
		}, func() float64 { return float64(g.activeHubs()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "roombridge_rtp_packets_received_total",
			Help: "RTP packets received from SIP legs.",
		}, func() float64 { return g.rtpTotals().received }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "roombridge_rtp_packets_sent_total",
			Help: "RTP packets sent to SIP legs.",
		}, func() float64 { return g.rtpTotals().sent }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "roombridge_rtp_packets_lost_total",
			Help: "RTP packets lost on the way from SIP legs (RFC 3550 cumulative loss).",
		}, func() float64 { return g.rtpTotals().lost }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// clockObserver sees every room clock's ticks (bridge.Observer): for the
// metrics (ticks, their work time, those a frame or more late) and for
// admission control.
type clockObserver struct {
	m    *metrics
	head *headroom.Monitor
}

func (o clockObserver) Tick(lateness, took time.Duration) {
	o.m.ticks.Inc()
	o.m.tickTime.Observe(took.Seconds())
	o.m.lateness.Observe(lateness.Seconds())
	if lateness >= bridge.FrameDuration {
		o.m.lateTicks.Inc()
	}
	o.head.Tick(lateness, took)
}

// observeEnd records an ending leg's MOS.
func (m *metrics) observeEnd(mos float64) {
	if mos > 0 {
		m.mos.Observe(mos)
	}
}

// add sums packet counters.
func (t *rtpTotals) add(o rtpTotals) {
	t.received += o.received
	t.sent += o.sent
	t.lost += o.lost
}
