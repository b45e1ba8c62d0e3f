package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/roombridge/roombridge/gateway/room"
)

// keyframeInterval throttles keyframe requests per published track: every
// new subscriber and every lost packet can ask, but an encoder only needs one
// request per round trip to react.
const keyframeInterval = 500 * time.Millisecond

// codecInfo is what a published track carries.
type codecInfo struct {
	MimeType  string
	ClockRate uint32
	Channels  uint16
	Fmtp      string
}

func (c codecInfo) isH264() bool { return strings.EqualFold(c.MimeType, "video/H264") }
func (c codecInfo) isVP8() bool  { return strings.EqualFold(c.MimeType, "video/VP8") }

// fwdPacket is one packet on its way through a pubTrack to subscribers.
// It lives on the forwarder's stack or in its loop state: subscribers must not
// keep it, nor its payload, after writePacket returns.
type fwdPacket struct {
	hdr     *rtp.Header
	payload []byte
	// level is the RFC 6464 audio level (0 loudest … 127 silence) when
	// hasLevel is set.
	level    uint8
	hasLevel bool
}

// subscriber receives the packets of one published track.
type subscriber interface {
	// writePacket sends or queues p; it must not block on a slow receiver.
	writePacket(p *fwdPacket)
	// trackEnded tells the subscriber no packet will follow.
	trackEnded()
	// listens is false for hidden subscribers (the gateway's own room hub),
	// which do not make a publisher's encoding worthwhile.
	listens() bool
}

// pubTrack is one published track: the fan-out point between one source (a
// WebRTC TrackRemote reader goroutine or a bot's writer) and its subscribers.
type pubTrack struct {
	id    string
	kind  room.TrackKind
	codec codecInfo
	owner *member
	// source tells a camera from a screen share; set before the track is
	// published and never changed.
	source room.TrackSource

	// subs is replaced copy-on-write under subMu so that forward reads it
	// without a lock and never holds one while writing to the network.
	subs  atomic.Pointer[[]subscriber]
	subMu sync.Mutex
	// listeners counts the subscribers that listen (see subscriber.listens).
	listeners atomic.Int32

	muted atomic.Bool
	// epoch changes whenever the stream is interrupted on purpose (mute),
	// so that subscribers close the sequence number gap instead of
	// reporting loss.
	epoch atomic.Uint32
	ended atomic.Bool

	// requestKeyframe asks the source for a keyframe; set before the track
	// is published and never changed.
	requestKeyframe func()
	lastKeyframe    atomic.Int64 // unix nanos of the last request passed on

	// Audio level accumulated between active-speaker ticks: the sum of
	// (127 - level) and the number of packets.
	levelSum   atomic.Uint64
	levelCount atomic.Uint64
	m          *metrics

	// ring keeps recent video packets to answer NACKs; nil for audio.
	ring *packetRing

	// caps limits the source's bit rate to what its receivers take
	// (bitrate.go); nil for audio. rembCaps says whether WebRTC
	// subscribers' REMBs count among them: they do for the gateway's
	// participants (a room system's camera, which has no congestion
	// control of its own towards the SFU), not for browsers, whose
	// encoders follow their own transport-wide congestion control. Both
	// are set before the track is published.
	caps     *bitrateCaps
	rembCaps bool
}

func newPubTrack(id string, kind room.TrackKind, codec codecInfo, owner *member, m *metrics, kf func()) *pubTrack {
	t := &pubTrack{id: id, kind: kind, codec: codec, owner: owner, requestKeyframe: kf, m: m}
	if kind == room.TrackKindVideo {
		t.ring = &packetRing{}
	}
	empty := []subscriber{}
	t.subs.Store(&empty)
	return t
}

// forward fans p out to every subscriber. It is called by one goroutine at a
// time (the track's source) and allocates nothing.
func (t *pubTrack) forward(p *fwdPacket) {
	if t.muted.Load() || t.ended.Load() {
		return
	}
	if p.hasLevel {
		t.levelSum.Add(uint64(127 - min(p.level&0x7f, 127)))
		t.levelCount.Add(1)
	}
	if t.ring != nil {
		t.ring.put(p.hdr, p.payload, t.epoch.Load())
	}
	subs := *t.subs.Load()
	for _, s := range subs {
		s.writePacket(p)
	}
	if n := len(subs); n > 0 {
		t.m.packetsForwarded.Add(float64(n))
		t.m.bytesForwarded.Add(float64(n * len(p.payload)))
	}
}

// addSubscriber adds s; it returns false when the track has already ended.
func (t *pubTrack) addSubscriber(s subscriber) bool {
	t.subMu.Lock()
	defer t.subMu.Unlock()
	if t.ended.Load() {
		return false
	}
	old := *t.subs.Load()
	next := make([]subscriber, 0, len(old)+1)
	next = append(next, old...)
	next = append(next, s)
	t.subs.Store(&next)
	if s.listens() {
		t.listeners.Add(1)
	}
	return true
}

// removeSubscriber drops s; the forwarder may still call it once more with a
// packet it loaded before the swap, which subscribers tolerate.
func (t *pubTrack) removeSubscriber(s subscriber) {
	t.subMu.Lock()
	old := *t.subs.Load()
	next := make([]subscriber, 0, len(old))
	for _, o := range old {
		if o != s {
			next = append(next, o)
		}
	}
	if len(next) < len(old) && s.listens() {
		t.listeners.Add(-1)
	}
	t.subs.Store(&next)
	t.subMu.Unlock()
	if t.caps != nil {
		// Outside subMu: the source may be given its new limit, which
		// writes to the network.
		t.caps.remove(s)
	}
}

// end stops forwarding and tells every subscriber.
func (t *pubTrack) end() {
	t.subMu.Lock()
	if t.ended.Swap(true) {
		t.subMu.Unlock()
		return
	}
	old := *t.subs.Load()
	empty := []subscriber{}
	t.subs.Store(&empty)
	t.listeners.Store(0)
	t.subMu.Unlock()
	if t.caps != nil {
		t.caps.stop()
	}
	for _, s := range old {
		s.trackEnded()
	}
}

// setMuted mutes or unmutes forwarding; unmuting video asks for a keyframe
// because subscribers cannot decode from a delta frame.
func (t *pubTrack) setMuted(muted bool) {
	if t.muted.Swap(muted) == muted {
		return
	}
	t.epoch.Add(1)
	if !muted && t.kind == room.TrackKindVideo {
		t.keyframe(true)
	}
}

// keyframe passes a keyframe request to the source unless one was passed
// less than keyframeInterval ago (force skips the throttle, for unmute).
func (t *pubTrack) keyframe(force bool) bool {
	if t.kind != room.TrackKindVideo || t.requestKeyframe == nil || t.ended.Load() {
		return false
	}
	now := time.Now().UnixNano()
	last := t.lastKeyframe.Load()
	if !force && now-last < int64(keyframeInterval) {
		return false
	}
	if !t.lastKeyframe.CompareAndSwap(last, now) {
		return false
	}
	t.m.keyframeRequests.Inc()
	t.requestKeyframe()
	return true
}

// takeLevel returns the mean loudness (0 silence … 127 loudest) since the
// last call, or 0 without level data.
func (t *pubTrack) takeLevel() float64 {
	sum := t.levelSum.Swap(0)
	n := t.levelCount.Swap(0)
	if n == 0 || t.muted.Load() {
		return 0
	}
	return float64(sum) / float64(n)
}

func (t *pubTrack) state() room.TrackState {
	return room.TrackState{ID: t.id, Kind: t.kind, Codec: t.codec.MimeType, Muted: t.muted.Load(), Source: t.source}
}
