package sfu

import (
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// The SFU answers subscribers' NACKs (RFC 4585 §6.2.1) itself from one
// buffer per published video track instead of pion's NACK responder, which
// keeps a copy of every packet per subscriber and allocates per packet: with
// 50 subscribers that is 50 copies and 100 allocations per video packet.

// ringSize is how many recent packets a video track keeps for
// retransmission: about a second of 1.5 Mbit/s video.
const ringSize = 512

type ringSlot struct {
	valid  bool
	seq    uint16
	ts     uint32
	marker bool
	epoch  uint32
	buf    []byte
}

// packetRing holds a track's recent packets by source sequence number. The
// forwarder writes, subscribers' RTCP goroutines read.
type packetRing struct {
	mu    sync.RWMutex
	slots [ringSize]ringSlot
}

func (r *packetRing) put(h *rtp.Header, payload []byte, epoch uint32) {
	r.mu.Lock()
	s := &r.slots[h.SequenceNumber%ringSize]
	s.valid, s.seq, s.ts, s.marker, s.epoch = true, h.SequenceNumber, h.Timestamp, h.Marker, epoch
	s.buf = append(s.buf[:0], payload...)
	r.mu.Unlock()
}

// get copies packet seq of epoch into dst and returns its header fields.
func (r *packetRing) get(seq uint16, epoch uint32, dst []byte) (n int, ts uint32, marker, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := &r.slots[seq%ringSize]
	if !s.valid || s.seq != seq || s.epoch != epoch || len(s.buf) > len(dst) {
		return 0, 0, false, false
	}
	return copy(dst, s.buf), s.ts, s.marker, true
}

// retransmitter is a downTrack's NACK answering state, owned by its RTCP
// reader goroutine.
type retransmitter struct {
	hdr rtp.Header
	buf [1500]byte
}

// onNack resends the packets a subscriber reports lost, translating its
// sequence numbers back to the source's.
func (d *downTrack) onNack(nack *rtcp.TransportLayerNack) {
	ring := d.src.ring
	b := d.bound.Load()
	if ring == nil || b == nil {
		return
	}
	mapping := d.mapping.Load()
	epoch, offset := uint32(mapping>>16), uint16(mapping)
	for i := range nack.Nacks {
		nack.Nacks[i].Range(func(outSeq uint16) bool {
			n, ts, marker, ok := ring.get(outSeq-offset, epoch, d.rtx.buf[:])
			if !ok {
				return true
			}
			d.rtx.hdr = rtp.Header{
				Version: 2, Marker: marker, PayloadType: b.pt,
				SequenceNumber: outSeq, Timestamp: ts, SSRC: b.ssrc,
			}
			_, _ = b.w.WriteRTP(&d.rtx.hdr, d.rtx.buf[:n])
			return true
		})
	}
}
