package gateway

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/video"
)

// Bandwidth across the video bridge.
const (
	// minBitrateCap is the least limit passed on either way: a TMMBR of
	// 0 (or a few bit/s) from a room system must not starve the source's
	// picture for everyone else in the room.
	minBitrateCap = 32_000
	// bwInterval is the least time between two limits sent to the room
	// system (the backend spaces them too).
	bwInterval = 500 * time.Millisecond
	// bwOverhead is the per-packet overhead a TMMBR of ours states:
	// IPv4, UDP and RTP headers (RFC 5104 §4.2.1.2).
	bwOverhead = 20 + 8 + 12
	// bwUnlimited is what the room system is told when the room's limit
	// goes and we announced none of our own.
	bwUnlimited = 8_000_000
)

// legBandwidth is a video leg's bit-rate state, both ways:
//
//   - room system → room: the limits it sets on what it receives — its
//     b=TIAS/b=AS (in the negotiation), its last TMMBR and REMB — whose
//     least the out loop gives the source it shows (capOut);
//   - room → room system: the limit the room's receivers set on its
//     picture (EventVideoBitrate), sent to it as TMMBR (if it
//     negotiated "ccm tmmbr") or REMB ("goog-remb") by the out loop.
type legBandwidth struct {
	tmmbr, remb atomic.Int64 // bit/s, 0 none
	received    atomic.Uint64
	sent        atomic.Uint64
	asked       atomic.Int64 // the limit last sent to the room system, 0 none
	lastTMMBN   atomic.Int64 // unix nanoseconds

	mu       sync.Mutex
	want     int  // the room's limit, 0 none
	wantSet  bool // not sent yet
	lastSent time.Time
}

// limit is the least of the room system's limits in bit/s, 0 for none.
func (l *videoLeg) limit() int {
	m := l.neg.Load().maxBitrate
	for _, v := range []int64{l.bw.tmmbr.Load(), l.bw.remb.Load()} {
		if v > 0 && (m == 0 || int(v) < m) {
			m = int(v)
		}
	}
	return m
}

// onBitrateRTCP takes the room system's TMMBR, TMMBN and REMB, on the
// session's RTCP reader goroutine.
func (l *videoLeg) onBitrateRTCP(p rtcp.Packet) {
	if t, ok := video.AsTMMB(p); ok && t.Format == video.FormatTMMBN {
		l.countBW(bwReceived, bwTMMBN)
		return
	}
	ours := l.sess.SSRC()
	for _, r := range video.BitrateRequests([]rtcp.Packet{p}, ours) {
		rate := int64(max(min(r.Bitrate, 1<<40), minBitrateCap))
		if !r.TMMBR {
			l.countBW(bwReceived, bwREMB)
			l.bw.remb.Store(rate)
			continue
		}
		l.countBW(bwReceived, bwTMMBR)
		if l.bw.tmmbr.Swap(rate) != rate {
			l.log.Info("room system limits its video (TMMBR)", "bitrate", rate)
		}
		// RFC 5104 §4.2.2: the bounding set, which is this request
		// alone (one receiver), confirmed to its owner. A burst of
		// requests gets one notification per 100 ms.
		now := time.Now().UnixNano()
		if last := l.bw.lastTMMBN.Load(); now-last < int64(100*time.Millisecond) || !l.bw.lastTMMBN.CompareAndSwap(last, now) {
			continue
		}
		e := r.Entry
		e.SSRC = r.From
		l.writeBW(&video.TMMB{Format: video.FormatTMMBN, SenderSSRC: ours, Entries: []video.TMMBEntry{e}}, bwTMMBN)
	}
	l.out.signal()
}

// roomLimits takes the room's limit on the room system's picture (0: none
// any more), from the call's goroutine; the out loop sends it.
func (l *videoLeg) roomLimits(bitrate int) {
	n := l.neg.Load()
	if !n.tmmbr && !n.remb {
		return // a room system without feedback is not told
	}
	l.bw.mu.Lock()
	l.bw.want, l.bw.wantSet = bitrate, true
	l.bw.mu.Unlock()
	l.out.signal()
}

// sendLimitIfDue sends the room's limit to the room system, on the out
// loop, at most once per bwInterval and once its SSRC is known.
func (l *videoLeg) sendLimitIfDue(now time.Time) {
	theirs := l.remoteSSRC.Load()
	l.bw.mu.Lock()
	if !l.bw.wantSet || theirs == 0 || now.Sub(l.bw.lastSent) < bwInterval {
		l.bw.mu.Unlock()
		return
	}
	want := l.bw.want
	l.bw.wantSet, l.bw.lastSent = false, now
	l.bw.mu.Unlock()

	rate := want
	if rate == 0 {
		rate = l.ownLimit
		if rate == 0 {
			rate = bwUnlimited
		}
	}
	rate = max(rate, minBitrateCap)
	n, ours := l.neg.Load(), l.sess.SSRC()
	switch {
	case n.tmmbr:
		l.writeBW(&video.TMMB{Format: video.FormatTMMBR, SenderSSRC: ours, Entries: []video.TMMBEntry{
			{SSRC: theirs, Bitrate: uint64(rate), Overhead: bwOverhead},
		}}, bwTMMBR)
	case n.remb:
		l.writeBW(&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: ours, Bitrate: float32(rate), SSRCs: []uint32{theirs}}, bwREMB)
	default:
		return
	}
	if want == 0 {
		rate = 0
	}
	if l.bw.asked.Swap(int64(rate)) != int64(rate) {
		l.log.Info("room system asked to limit its video", "bitrate", rate, "tmmbr", n.tmmbr)
	}
}

// writeBW sends one bit-rate message in a compound behind a receiver
// report (RFC 4585 §3.1) and counts it.
func (l *videoLeg) writeBW(p rtcp.Packet, kind string) {
	err := l.sess.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: l.sess.SSRC()}, p})
	if err != nil {
		if !errors.Is(err, rtp.ErrNoRemote) {
			l.log.Debug("RTCP bit-rate message", "kind", kind, "err", err)
		}
		return
	}
	l.countBW(bwSent, kind)
}

func (l *videoLeg) countBW(direction, kind string) {
	if direction == bwSent {
		l.bw.sent.Add(1)
	} else {
		l.bw.received.Add(1)
	}
	if l.m != nil {
		l.m.videoBandwidth.WithLabelValues(direction, kind).Inc()
	}
}

// capSource gives the room system's limit to the source it is shown (or
// about to be), and takes it off a source it no longer is; on the out
// loop. The backend gives each source the least of its receivers'.
func (o *videoOut) capSource(part room.Participant) {
	capper, ok := part.(room.VideoBitrateCapper)
	if !ok {
		return
	}
	target := o.sw.Pending()
	if target == "" {
		target = o.sw.Current()
	}
	if target == slateSource {
		target = ""
	}
	want := o.l.limit()
	if target == "" || want == 0 {
		target, want = "", 0
	}
	if target == o.capTrack && want == o.capSet {
		return
	}
	if o.capTrack != "" && o.capTrack != target {
		if err := capper.CapVideoBitrate(o.capTrack, 0); err != nil {
			o.l.log.Debug("bit-rate limit lifted", "track", o.capTrack, "err", err)
		}
	}
	if target != "" {
		if err := capper.CapVideoBitrate(target, want); err != nil {
			o.l.log.Debug("bit-rate limit", "track", target, "err", err)
		}
		if want != o.capSet {
			o.l.log.Info("room system's bit-rate limit given to its source", "track", target, "bitrate", want)
		}
	}
	o.capTrack, o.capSet = target, want
	o.capShown.Store(int64(want))
}

// uncap lifts the leg's limit from its source; after the out loop ended.
func (o *videoOut) uncap() {
	o.mu.Lock()
	part := o.part
	o.mu.Unlock()
	capper, ok := part.(room.VideoBitrateCapper)
	if !ok || o.capTrack == "" {
		return
	}
	if err := capper.CapVideoBitrate(o.capTrack, 0); err != nil {
		o.l.log.Debug("bit-rate limit lifted", "track", o.capTrack, "err", err)
	}
	o.capTrack, o.capSet = "", 0
	o.capShown.Store(0)
}
