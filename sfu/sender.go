package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"

	"github.com/roombridge/roombridge/gateway/room/sendqueue"
)

// Sizing of a WebRTC subscriber's send queue: 256 packets is over a second
// of audio from a room's worth of speakers, or a large keyframe, before the
// oldest is dropped; a packet is at most an MTU (what a publisher's read
// loop can receive).
const (
	subscriberQueue = 256
	maxPacket       = 1500
)

// outPacket is one packet queued for a subscriber, numbered for it by its
// down track; the writer builds the header from it.
type outPacket struct {
	d        *downTrack
	b        *binding
	seq      uint16
	ts       uint32
	marker   bool
	level    uint8
	hasLevel bool
}

// subSender is the fan-out's far side for one WebRTC subscriber: its down
// tracks queue packets from the forwarders' goroutines (a bot writer on the
// room's clock, a browser publisher's read loop), and one goroutine of its
// own writes them to the "sub" PeerConnection (interceptors, SRTP, UDP). A
// slow or stuck subscriber therefore loses its own oldest packets and
// delays nobody else.
type subSender struct {
	q *sendqueue.Queue[outPacket]
	m *metrics
	// handled counts the packets the writer has taken out of the queue
	// (sent, or skipped for an unbound track).
	handled atomic.Uint64

	// The writer goroutine's header, reused for every packet.
	hdr   rtp.Header
	level [1]byte
}

func newSubSender(m *metrics) *subSender {
	s := &subSender{q: sendqueue.New[outPacket](subscriberQueue, maxPacket), m: m}
	s.hdr.Extensions = make([]rtp.Extension, 0, 1)
	return s
}

// start runs the writer on a goroutine counted by wg; it returns after
// close.
func (s *subSender) start(wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.q.Run(s.write)
	}()
}

// close stops the writer after its current write; close the PeerConnection
// first so that a write blocked in it returns.
func (s *subSender) close() { s.q.Close() }

// push queues one packet; it never waits.
func (s *subSender) push(o outPacket, payload []byte) {
	if s.q.Push(o, payload) {
		s.m.packetsDropped.Inc()
	}
}

// write sends one packet, on the writer goroutine.
func (s *subSender) write(o *outPacket, payload []byte) {
	defer s.handled.Add(1)
	if o.d.bound.Load() != o.b {
		return // unsubscribed or renegotiated since it was queued
	}
	s.hdr = rtp.Header{
		Version: 2, Marker: o.marker, PayloadType: o.b.pt,
		SequenceNumber: o.seq, Timestamp: o.ts, SSRC: o.b.ssrc,
		Extensions: s.hdr.Extensions[:0],
	}
	if o.b.levelID != 0 && o.hasLevel {
		s.level[0] = o.level
		_ = s.hdr.SetExtension(o.b.levelID, s.level[:])
	}
	// Errors mean the subscriber's transport is closing; its own
	// signalling loop notices and cleans up.
	_, _ = o.b.w.WriteRTP(&s.hdr, payload)
}
