package rtp

import "github.com/pion/rtcp"

// Sequence validation constants of RFC 3550 Appendix A.1.
const (
	maxDropout  = 3000
	maxMisorder = 100
	seqMod      = 1 << 16
)

// reception is the per-source state RFC 3550 Appendix A keeps for the one
// source a leg receives: sequence tracking (A.1), loss (A.3) and interarrival
// jitter (A.8). It is guarded by Session.mu.
type reception struct {
	ssrc    uint32
	started bool

	baseSeq uint32
	maxSeq  uint16
	cycles  uint32 // shifted count of sequence number wraps
	badSeq  uint32

	received      uint32 // packets accepted by update, duplicates included (A.3)
	expectedPrior uint32
	receivedPrior uint32

	transit     int32
	haveTransit bool
	jitter      float64 // in timestamp units, the J of A.8
}

// init starts tracking a source at seq (A.1 init_seq). The probation of
// A.1 is left out: a SIP leg has one source, negotiated in SDP, and the
// first packet of a call must not be held back.
func (r *reception) init(ssrc uint32, seq uint16) {
	*r = reception{ssrc: ssrc, started: true}
	r.resync(seq)
}

func (r *reception) resync(seq uint16) {
	r.baseSeq = uint32(seq)
	r.maxSeq = seq
	r.badSeq = seqMod + 1 // so seq == badSeq is false
	r.cycles = 0
	r.received = 0
	r.receivedPrior = 0
	r.expectedPrior = 0
	r.haveTransit = false
}

// update records seq (A.1 update_seq). It returns false for a packet that
// jumped far from the expected sequence and is not counted; two such
// packets in sequence mean the peer restarted its numbering, and tracking
// resynchronises on the second.
func (r *reception) update(seq uint16) bool {
	udelta := seq - r.maxSeq
	switch {
	case udelta < maxDropout:
		// In order, with a permissible gap.
		if seq < r.maxSeq {
			r.cycles += seqMod
		}
		r.maxSeq = seq
	case udelta <= seqMod-maxMisorder:
		// A very large jump.
		if uint32(seq) != r.badSeq {
			r.badSeq = (uint32(seq) + 1) & (seqMod - 1)
			return false
		}
		r.resync(seq)
	default:
		// A duplicate or a reordered packet.
	}
	r.received++
	return true
}

// updateJitter folds one packet into the interarrival jitter estimate
// (A.8): arrival is the arrival time in timestamp units on our clock.
func (r *reception) updateJitter(arrival, ts uint32) {
	transit := int32(arrival - ts)
	if !r.haveTransit {
		r.transit = transit
		r.haveTransit = true
		return
	}
	d := transit - r.transit
	r.transit = transit
	if d < 0 {
		d = -d
	}
	// J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16, RFC 3550 §6.4.1.
	r.jitter += (float64(d) - r.jitter) / 16
}

func (r *reception) extendedMax() uint32 { return r.cycles + uint32(r.maxSeq) }

func (r *reception) expected() uint32 { return r.extendedMax() - r.baseSeq + 1 }

// lost is the cumulative number of packets lost (A.3). It may be negative
// when duplicates arrived.
func (r *reception) lost() int64 { return int64(r.expected()) - int64(r.received) }

// report fills a reception report block and starts a new reporting interval
// (A.3). lsr and dlsr are the LSR and DLSR fields (§6.4.1).
func (r *reception) report(lsr, dlsr uint32) rtcp.ReceptionReport {
	expected := r.expected()
	expectedInterval := expected - r.expectedPrior
	r.expectedPrior = expected
	receivedInterval := r.received - r.receivedPrior
	r.receivedPrior = r.received
	lostInterval := int64(expectedInterval) - int64(receivedInterval)
	var fraction uint8
	if expectedInterval != 0 && lostInterval > 0 {
		fraction = uint8((lostInterval << 8) / int64(expectedInterval))
	}
	return rtcp.ReceptionReport{
		SSRC:               r.ssrc,
		FractionLost:       fraction,
		TotalLost:          clampLost(r.lost()),
		LastSequenceNumber: r.extendedMax(),
		Jitter:             uint32(r.jitter),
		LastSenderReport:   lsr,
		Delay:              dlsr,
	}
}

// clampLost packs a cumulative loss into the signed 24-bit field of a
// report block, clamping as A.3 says.
func clampLost(lost int64) uint32 {
	lost = min(max(lost, -0x800000), 0x7fffff)
	return uint32(int32(lost)) & 0xffffff
}

// signed24 reads the cumulative-lost field of a report block.
func signed24(v uint32) int32 {
	return int32(v<<8) >> 8
}
