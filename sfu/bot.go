package sfu

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/roombridge/roombridge/gateway/room"
)

// eventQueue is how many events a bot may leave unread before it loses
// some; a room must never wait for a slow leg.
const eventQueue = 64

// bot is an in-process participant (a SIP leg, the room audio hub, a
// recorder): it implements room.Participant on top of the same rooms and
// tracks as WebRTC clients, without any PeerConnection.
type bot struct {
	s *SFU
	m *member

	mu         sync.Mutex
	handler    func(room.RemoteTrack)
	wantTracks bool
	filter     func(participantID string) bool // nil: every track
	kinds      []room.TrackKind                // nil: every kind (bot_filter.go)
	subs       map[*pubTrack]*botTrack
	queue      []room.RemoteTrack
	events     chan room.Event
	closed     bool

	signal   chan struct{}
	done     chan struct{}
	loopDone chan struct{}
}

var (
	_ room.Participant        = (*bot)(nil)
	_ room.TrackFilter        = (*bot)(nil)
	_ room.KindFilter         = (*bot)(nil)
	_ room.TrackReleaser      = (*bot)(nil)
	_ room.VideoBitrateCapper = (*bot)(nil)
)

func newBot(s *SFU, m *member) *bot {
	return &bot{
		s: s, m: m, subs: map[*pubTrack]*botTrack{},
		events: make(chan room.Event, eventQueue),
		signal: make(chan struct{}, 1), done: make(chan struct{}), loopDone: make(chan struct{}),
	}
}

// ID implements room.Participant.
func (b *bot) ID() string { return b.m.id }

// Events implements room.Participant.
func (b *bot) Events() <-chan room.Event { return b.events }

// OnTrack implements room.Participant. Bots subscribe to nothing until they
// register a handler, so that legs that never read video cost nothing.
func (b *bot) OnTrack(fn func(room.RemoteTrack)) {
	b.mu.Lock()
	b.handler = fn
	first := !b.wantTracks
	b.wantTracks = true
	closed := b.closed
	video := botWantsVideo(b.kinds)
	b.mu.Unlock()
	b.wake()
	if first && !closed {
		if video {
			b.m.room.wantsH264(b.m)
		}
		b.m.room.subscribeExisting(b.m)
	}
}

// ReleaseTracks implements room.TrackReleaser: the bot's subscriptions
// end and it takes no more tracks until OnTrack is called again.
func (b *bot) ReleaseTracks() {
	b.mu.Lock()
	b.handler, b.wantTracks = nil, false
	subs := b.takeSubsLocked()
	b.mu.Unlock()
	unsubscribe(subs)
}

// takeSubsLocked takes the bot's subscriptions and queued tracks for
// unsubscribe; b.mu is held.
func (b *bot) takeSubsLocked() map[*pubTrack]*botTrack {
	subs := b.subs
	b.subs = map[*pubTrack]*botTrack{}
	b.queue = nil
	return subs
}

// unsubscribe ends subscriptions taken by takeSubsLocked.
func unsubscribe(subs map[*pubTrack]*botTrack) {
	for t, bt := range subs {
		t.removeSubscriber(bt)
		bt.close()
	}
}

// SetTrackFilter implements room.TrackFilter.
func (b *bot) SetTrackFilter(want func(participantID string) bool) {
	b.mu.Lock()
	b.filter = want
	b.mu.Unlock()
}

// subscribe implements peer.
func (b *bot) subscribe(t *pubTrack) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.wantTracks || b.closed {
		return
	}
	if b.filter != nil && !b.filter(t.owner.id) {
		return
	}
	if b.kinds != nil && !slices.Contains(b.kinds, t.kind) {
		return
	}
	if _, ok := b.subs[t]; ok {
		return
	}
	bt := newBotTrack(t, b)
	if !t.addSubscriber(bt) {
		return
	}
	b.subs[t] = bt
	b.queue = append(b.queue, bt)
	b.wake()
}

func (b *bot) wake() {
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

// dispatchLoop calls the OnTrack handler outside any lock, in order.
func (b *bot) dispatchLoop() {
	defer b.s.wg.Done()
	defer close(b.loopDone)
	for {
		select {
		case <-b.done:
			return
		case <-b.signal:
		}
		b.mu.Lock()
		fn := b.handler
		var q []room.RemoteTrack
		if fn != nil {
			q, b.queue = b.queue, nil
		}
		b.mu.Unlock()
		for _, t := range q {
			fn(t)
		}
	}
}

// notify implements peer.
func (b *bot) notify(n note) {
	switch n.kind {
	case noteJoined:
		b.emit(room.Event{Type: room.EventParticipantJoined, Participant: n.p})
	case noteLeft:
		b.emit(room.Event{Type: room.EventParticipantLeft, Participant: n.p})
	case noteSpeakers:
		ids := make([]string, len(n.speakers))
		for i, s := range n.speakers {
			ids[i] = s.ID
		}
		b.emit(room.Event{Type: room.EventActiveSpeakers, Speakers: ids})
	case noteMuted:
		b.emit(room.Event{Type: room.EventMuted, Kind: n.trackKind, Muted: n.muted})
	case notePinned:
		b.emit(room.Event{Type: room.EventPinned, Pinned: n.pinned})
	}
}

// emit sends ev unless the bot has finished or its reader is behind.
func (b *bot) emit(ev room.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	select {
	case b.events <- ev:
	default:
		b.m.log.Debug("event dropped, reader is slow", "event", ev.Type.String())
	}
}

// remove implements peer: the bot was kicked or its room closed.
func (b *bot) remove(reason string) {
	b.finish(&room.Event{Type: room.EventRemoved, Reason: reason})
}

// finish ends the bot's subscriptions and events once.
func (b *bot) finish(last *room.Event) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	if last != nil {
		select {
		case b.events <- *last:
		default:
		}
	}
	b.closed = true
	close(b.events)
	close(b.done)
	subs := b.takeSubsLocked()
	b.mu.Unlock()
	unsubscribe(subs)
	b.m.log.Info("participant left")
}

// Leave implements room.Participant. It must not be called from the OnTrack
// handler, whose return it waits for.
func (b *bot) Leave(reason string) error {
	b.s.depart(b.m)
	b.finish(nil)
	<-b.loopDone
	return nil
}

// RequestKeyframe implements room.Participant.
func (b *bot) RequestKeyframe(trackID string) error {
	t := b.m.room.findTrack(trackID)
	if t == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTrack, trackID)
	}
	if t.kind != room.TrackKindVideo {
		return fmt.Errorf("%w: %q is not video", ErrUnknownTrack, trackID)
	}
	t.keyframe(false)
	return nil
}

// CapVideoBitrate implements room.VideoBitrateCapper: the bot's limit on
// a video track it receives, which the track's source is given with its
// other receivers' (the least of them).
func (b *bot) CapVideoBitrate(trackID string, bitrate int) error {
	b.mu.Lock()
	var bt *botTrack
	for t, s := range b.subs {
		if t.id == trackID {
			bt = s
			break
		}
	}
	b.mu.Unlock()
	if bt == nil || bt.src.caps == nil {
		return fmt.Errorf("%w: %q is no video track received", ErrUnknownTrack, trackID)
	}
	bt.src.caps.set(bt, uint64(max(bitrate, 0)))
	return nil
}

// SetMuted implements room.Participant.
func (b *bot) SetMuted(kind room.TrackKind, muted bool) error {
	return b.m.room.setMuted(b.m, kind, muted, false)
}

// PublishAudio implements room.Participant; only Opus is carried.
func (b *bot) PublishAudio(codec room.AudioCodec) (room.AudioWriter, error) {
	if !strings.EqualFold(codec.MimeType, "audio/opus") {
		return nil, fmt.Errorf("%w: %q", room.ErrUnsupportedCodec, codec.MimeType)
	}
	if b.m.hidden {
		return nil, fmt.Errorf("%w: hidden participants publish nothing", ErrHiddenPublish)
	}
	ci := codecInfo{MimeType: opusCodec.MimeType, ClockRate: 48000, Channels: 2}
	t := newPubTrack(newID("TR_"), room.TrackKindAudio, ci, b.m, b.s.m, nil)
	if err := b.m.room.publish(t); err != nil {
		return nil, err
	}
	b.m.log.Info("track published", "track", t.id, "codec", ci.MimeType)
	return newAudioWriter(t), nil
}

// PublishVideo implements room.Participant; H.264 (packetization-mode 1)
// and VP8 are carried.
func (b *bot) PublishVideo(codec room.VideoCodec) (room.VideoWriter, error) {
	var ci codecInfo
	switch {
	case strings.EqualFold(codec.MimeType, "video/H264"):
		ci = codecInfo{MimeType: h264Codec.MimeType, ClockRate: 90000, Fmtp: h264Fmtp}
	case strings.EqualFold(codec.MimeType, "video/VP8"):
		ci = codecInfo{MimeType: vp8Codec.MimeType, ClockRate: 90000}
	default:
		return nil, fmt.Errorf("%w: %q", room.ErrUnsupportedCodec, codec.MimeType)
	}
	if b.m.hidden {
		return nil, fmt.Errorf("%w: hidden participants publish nothing", ErrHiddenPublish)
	}
	var t *pubTrack
	t = newPubTrack(newID("TR_"), room.TrackKindVideo, ci, b.m, b.s.m, func() {
		b.emit(room.Event{Type: room.EventKeyframeRequested, TrackID: t.id})
	})
	// Its receivers' limits go to the leg, which asks the room system
	// for them by TMMBR or REMB.
	t.caps = newBitrateCaps(func(bitrate uint64) {
		b.emit(room.Event{Type: room.EventVideoBitrate, TrackID: t.id, Bitrate: int(min(bitrate, 1<<40))})
	})
	t.rembCaps = true
	t.source = codec.Source
	if t.source != room.TrackSourceScreen {
		t.source = room.TrackSourceCamera
	}
	if err := b.m.room.publish(t); err != nil {
		return nil, err
	}
	b.m.log.Info("track published", "track", t.id, "codec", ci.MimeType)
	return newVideoWriter(t), nil
}
