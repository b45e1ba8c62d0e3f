package video

import "github.com/pion/rtp"

// DefaultMaxAccessUnit bounds an access unit the Depacketizer assembles:
// a 1080p IDR at high quality stays well below it.
const DefaultMaxAccessUnit = 1 << 20

// AccessUnit is one picture in Annex B form, as the room's backends take
// it (room.VideoWriter).
type AccessUnit struct {
	// Data is valid until the callback returns; copy to keep it.
	Data      []byte
	Timestamp uint32
	// Keyframe is set when the access unit holds an IDR; the SPS and PPS
	// are then in front of it.
	Keyframe bool
}

// DepacketizerStats counts what a Depacketizer saw since it was made.
type DepacketizerStats struct {
	Packets uint64
	// Lost counts packets missing from the sequence, Late those that
	// arrived after a later one (reordered or duplicated) and were
	// dropped.
	Lost, Late uint64
	// Frames and Keyframes count access units delivered; Dropped counts
	// those withheld because loss damaged them, or because they depend on
	// a damaged one (until the next keyframe).
	Frames, Keyframes, Dropped uint64
	// ParamsInserted counts IDRs that got the kept SPS/PPS put in front.
	ParamsInserted uint64
	// Unsupported counts packets of payload structures this package does
	// not take (STAP-B, MTAP, FU-B: packetization-mode 2).
	Unsupported uint64
	// Restarts counts the stream starting afresh: a new SSRC, or sequence
	// numbers started over (resyncAfter packets in a row "late").
	Restarts uint64
	// Width and Height come from the latest SPS, 0 before one arrives.
	Width, Height int
	// FrameRate and Bitrate are measured over the last frames delivered.
	FrameRate float64
	Bitrate   int
}

// Depacketizer reassembles H.264 access units from the RTP packets of one
// stream (RFC 6184: single NAL unit packets, STAP-A §5.7.1, FU-A §5.8;
// packetization modes 0 and 1 alike, since mode 0 is a subset).
//
// An access unit ends with the RTP marker bit (§5.1), or when the
// timestamp changes because the marked packet was lost. Packets are
// expected in order: a sequence gap marks the access unit it falls in as
// damaged, and a late packet is dropped. A damaged access unit is never
// delivered, nor is anything after it until an IDR arrives whole: a
// decoder fed pictures that reference a missing one shows smeared video
// until the next keyframe anyway, and a browser may stall on it. Push
// reports when a keyframe should be requested.
//
// A Depacketizer is used from one goroutine. It does not allocate once its
// buffers have grown to the stream's largest access unit.
type Depacketizer struct {
	onAU   func(AccessUnit)
	maxAU  int
	params ParamSets
	meter  Meter
	stats  DepacketizerStats

	buf      []byte
	ts       uint32
	size     int  // RTP payload bytes of the access unit, for the bitrate
	damaged  bool // part of the access unit is missing
	hasVCL   bool
	hasIDR   bool
	hasSPS   bool
	hasPPS   bool
	inserted bool
	fuActive bool
	fuStart  int

	started  bool
	ssrc     uint32
	lastSeq  uint16
	lateRun  int  // packets in a row that came late
	needKey  bool // drop until an IDR arrives whole
	wantKey  bool // reported by the current Push
	lossSeen bool
}

// NewDepacketizer returns a Depacketizer that calls onAU with each access
// unit it completes, from within Push. maxAU bounds an access unit
// (DefaultMaxAccessUnit when ≤ 0); a larger one is dropped as damaged.
func NewDepacketizer(onAU func(AccessUnit), maxAU int) *Depacketizer {
	if maxAU <= 0 {
		maxAU = DefaultMaxAccessUnit
	}
	return &Depacketizer{onAU: onAU, maxAU: maxAU, buf: make([]byte, 0, 64<<10), needKey: true}
}

// Params gives access to the stream's parameter sets, for seeding them
// from SDP (sprop-parameter-sets) before the first packet.
func (d *Depacketizer) Params() *ParamSets { return &d.params }

// Stats returns the counters and measurements so far.
func (d *Depacketizer) Stats() DepacketizerStats {
	s := d.stats
	if info, ok := d.params.SPS(); ok {
		s.Width, s.Height = info.Width, info.Height
	}
	s.FrameRate, s.Bitrate = d.meter.Rates()
	return s
}

// Push takes one RTP packet of the stream, padding removed (pion's
// Unmarshal does), and reports whether the sender should be asked for a
// keyframe now. Padding-only packets must be pushed too: they take
// sequence numbers, and leaving them out would look like loss. It asks: the packet revealed loss, or the
// stream is waiting for its first (or next undamaged) IDR. The caller
// passes the answer through a [KeyframeLimiter].
func (d *Depacketizer) Push(p *rtp.Packet) (keyframeWanted bool) {
	d.wantKey = false
	d.stats.Packets++
	seq := p.SequenceNumber
	if d.started && p.SSRC != d.ssrc {
		d.restart() // a new source (a room system's re-INVITE, a restart)
	}
	d.ssrc = p.SSRC
	if d.started {
		diff := int16(seq - d.lastSeq)
		if diff <= 0 {
			d.stats.Late++
			if d.lateRun++; d.lateRun < resyncAfter {
				return false
			}
			// So many in a row are not late: the sender started its
			// sequence numbers afresh under the same SSRC.
			d.restart()
		}
		d.lateRun = 0
		switch {
		case !d.started:
		case diff > 1:
			d.stats.Lost += uint64(diff - 1)
			d.wantKey = true
			// The missing packets may end the access unit being built
			// (its marked packet), begin the next one, or be whole
			// pictures in between: what is built now and next is suspect.
			if len(d.buf) > 0 || d.fuActive {
				d.damaged = true
			}
			d.lossSeen = true
		}
	}
	d.started, d.lastSeq = true, seq
	if len(p.Payload) == 0 {
		// Padding only (RFC 3550 §5.1; browsers probe bandwidth so): it
		// counts in the sequence and carries nothing of the picture.
		return d.wantKey
	}

	if len(d.buf) > 0 || d.damaged || d.fuActive {
		if p.Timestamp != d.ts {
			d.finish() // its marked packet was lost
		}
	}
	if len(d.buf) == 0 && !d.damaged {
		d.ts = p.Timestamp
	}
	if d.lossSeen {
		d.damaged = true
		d.lossSeen = false
	}
	d.payload(p.Payload)
	if p.Marker {
		d.finish()
	}
	return d.wantKey
}

// resyncAfter is how many packets in a row may come "late" before the
// stream is taken to have restarted its sequence numbers: reordering
// never delays a run this long.
const resyncAfter = 16

// restart forgets the stream's sequence: a new SSRC or restarted sequence
// numbers. What was being built belongs to the old stream and goes; the new
// one is shown from its first whole IDR, asked for now.
func (d *Depacketizer) restart() {
	if len(d.buf) > 0 || d.fuActive || d.damaged {
		d.stats.Dropped++
	}
	d.buf = d.buf[:0]
	d.size = 0
	d.damaged, d.hasVCL, d.hasIDR, d.hasSPS, d.hasPPS, d.inserted, d.fuActive = false, false, false, false, false, false, false
	d.started, d.lateRun, d.lossSeen = false, 0, false
	d.needKey, d.wantKey = true, true
	d.stats.Restarts++
}

// payload adds one RTP payload to the access unit (RFC 6184 §5.6–§5.8).
func (d *Depacketizer) payload(b []byte) {
	if len(b) == 0 {
		return
	}
	d.size += len(b)
	switch t := NALType(b); {
	case t >= 1 && t <= 23:
		d.nal(b)
	case t == nalSTAPA:
		for rest := b[1:]; len(rest) > 0; {
			if len(rest) < 2 {
				d.damaged = true
				return
			}
			n := int(rest[0])<<8 | int(rest[1])
			if n == 0 || n > len(rest)-2 {
				d.damaged = true
				return
			}
			d.nal(rest[2 : 2+n])
			rest = rest[2+n:]
		}
	case t == nalFUA:
		d.fragment(b)
	case t == nalSTAPB || t == nalMTAP || t == nalMTAP+1 || t == nalFUB:
		d.stats.Unsupported++
		d.damaged = true
	default:
		d.damaged = true // 0, 30 and 31 are forbidden or reserved
	}
}

// fragment adds one FU-A (§5.8).
func (d *Depacketizer) fragment(b []byte) {
	if len(b) < 2 {
		d.damaged = true
		return
	}
	fu := b[1]
	start, end := fu&0x80 != 0, fu&0x40 != 0
	hdr := b[0]&0xe0 | fu&0x1f
	if start {
		if d.fuActive {
			d.damaged = true // the previous fragmented NAL unit never ended
			d.buf = d.buf[:d.fuStart]
		}
		d.beginNAL(hdr)
		d.fuStart = len(d.buf) - 1 - len(startCode)
		d.fuActive = true
	} else if !d.fuActive {
		d.damaged = true // its first fragment was lost
		return
	}
	if !d.grow(len(b) - 2) {
		return
	}
	d.buf = append(d.buf, b[2:]...)
	if end {
		d.fuActive = false
		d.observe(d.buf[d.fuStart+len(startCode):])
	}
}

// nal adds one whole NAL unit.
func (d *Depacketizer) nal(n []byte) {
	if len(n) < 1 || n[0]&0x80 != 0 { // forbidden_zero_bit
		d.damaged = true
		return
	}
	if !d.grow(len(n)) {
		return
	}
	d.beginNAL(n[0])
	d.buf = append(d.buf, n[1:]...)
	d.observe(n)
}

// beginNAL writes a start code and the NAL header, with the kept SPS and
// PPS in front of the access unit's first IDR slice if it brought none.
func (d *Depacketizer) beginNAL(hdr byte) {
	t := hdr & 0x1f
	d.hasVCL = d.hasVCL || isVCL(t)
	if t == NALIDR && !d.hasIDR {
		d.hasIDR = true
		if (!d.hasSPS || !d.hasPPS) && d.params.Complete() {
			d.buf = d.params.AppendTo(d.buf)
			d.hasSPS, d.hasPPS, d.inserted = true, true, true
		}
	}
	d.buf = append(d.buf, startCode...)
	d.buf = append(d.buf, hdr)
}

// observe notes a complete NAL unit of the access unit.
func (d *Depacketizer) observe(n []byte) {
	switch NALType(n) {
	case NALSPS:
		d.hasSPS = true
		d.params.Observe(n)
	case NALPPS:
		d.hasPPS = true
		d.params.Observe(n)
	}
}

// grow checks that n more bytes (plus a start code and parameter sets)
// keep the access unit within its bound; past it the unit is damaged.
func (d *Depacketizer) grow(n int) bool {
	if len(d.buf)+n+len(startCode)+2*maxParamSet > d.maxAU {
		d.damaged = true
		d.buf = d.buf[:0]
		d.fuActive = false
		return false
	}
	return true
}

// finish ends the access unit being built: deliver it, or drop it.
func (d *Depacketizer) finish() {
	au := d.buf
	if d.fuActive {
		d.damaged = true // its last fragment is missing
	}
	switch {
	case d.damaged:
		d.stats.Dropped++
		d.needKey, d.wantKey = true, true
	case !d.hasVCL:
		// Parameter sets or SEI on their own: kept (observe), not a
		// picture to forward.
	case d.needKey && !d.hasIDR:
		d.stats.Dropped++
		d.wantKey = true
	case d.hasIDR && (!d.hasSPS || !d.hasPPS):
		// Nothing to put in front: a decoder cannot start here.
		d.stats.Dropped++
		d.needKey, d.wantKey = true, true
	default:
		if d.hasIDR {
			d.needKey = false
			d.stats.Keyframes++
			if d.inserted {
				d.stats.ParamsInserted++
			}
		}
		d.stats.Frames++
		d.meter.Frame(d.ts, d.size)
		d.onAU(AccessUnit{Data: au, Timestamp: d.ts, Keyframe: d.hasIDR})
	}
	d.buf = d.buf[:0]
	d.size = 0
	d.damaged, d.hasVCL, d.hasIDR, d.hasSPS, d.hasPPS, d.inserted, d.fuActive = false, false, false, false, false, false, false
}
