package livekit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/room"
)

// eventQueue is how many events a participant may leave unread before it
// loses some; the SDK's callbacks never wait for a slow leg.
const eventQueue = 64

// participant is one of the gateway's participants in a LiveKit room.
type participant struct {
	b        *Backend
	id       string
	roomName string
	hidden   bool
	// publishOnly: a phone leg, joined lean, which never subscribes.
	publishOnly bool
	log         *slog.Logger
	// lk is the participant's SDK client, stored once its join starts;
	// it is nil for a lean participant, whose client is lean.
	lk   atomic.Pointer[lksdk.Room]
	lean *leanClient

	mu         sync.Mutex
	handler    func(room.RemoteTrack)
	wantTracks bool
	filter     func(participantID string) bool // nil: every track
	kinds      []room.TrackKind                // nil: every kind (video.go)
	pinned     string                          // the room's pin as last told (pin.go)
	remote     map[string]*remoteTrack         // by track SID
	queue      []room.RemoteTrack
	events     chan room.Event
	closed     bool
	leaving    bool
	kickReason string               // set by our own Directory before a RemoveParticipant
	muted      [3]bool              // this participant's own wish, by room.TrackKind
	writers    map[*localTrack]bool // published tracks, ended on close
	reconnect  *time.Timer
	// subscribedEarly holds the SIDs of tracks LiveKit said were
	// subscribed before PublishTrack returned them.
	subscribedEarly map[string]bool
	// joinTrack is the audio track a lean participant published with its
	// join, until PublishAudio hands it out.
	joinTrack *localTrack
	// released holds the tracks ReleaseTracks unsubscribed whose RTP has
	// not ended yet (companion.go).
	released map[string]*remoteTrack
	// comp receives for a publish-only participant that asked for tracks
	// (companion.go); compPrev is the last one stopped, maybe still
	// leaving.
	comp, compPrev *companion

	// Who could hear this participant's audio (listeners.go); audMu
	// serializes recounts.
	audMu      sync.Mutex
	audience   atomic.Int32
	foreignSIP atomic.Bool
	recording  atomic.Bool

	disconnectOnce sync.Once
	signal         chan struct{}
	done           chan struct{}
	wg             sync.WaitGroup // dispatch loop and track readers
}

var (
	_ room.Participant = (*participant)(nil)
	_ room.TrackFilter = (*participant)(nil)
	_ DataPublisher    = (*participant)(nil)
)

func newParticipant(b *Backend, roomName, id string, hidden bool, log *slog.Logger) *participant {
	return &participant{
		b: b, id: id, roomName: roomName, hidden: hidden, log: log,
		remote:  map[string]*remoteTrack{},
		writers: map[*localTrack]bool{}, subscribedEarly: map[string]bool{}, released: map[string]*remoteTrack{},
		events: make(chan room.Event, eventQueue),
		signal: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

// joinError sorts a failed join: an unreachable server is
// room.ErrUnavailable, a refused token ErrBadCredentials.
func joinError(err error) error {
	// The SDK reports LiveKit's refusal as text (the body of /rtc/validate).
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "401") || strings.Contains(msg, "unauthorized") || strings.Contains(msg, "invalid token"):
		return fmt.Errorf("%w: join: %w", ErrBadCredentials, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("livekit: join: %w", err)
	default:
		// Connection refused, timeouts, ICE that never connects: the gateway
		// cannot put the call anywhere, which is an outage to the caller.
		return fmt.Errorf("%w: livekit join: %w", room.ErrUnavailable, err)
	}
}

// ID implements room.Participant.
func (p *participant) ID() string { return p.id }

// Events implements room.Participant.
func (p *participant) Events() <-chan room.Event { return p.events }

// emit sends ev unless the participant has finished or its reader is
// behind.
func (p *participant) emit(ev room.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	select {
	case p.events <- ev:
	default:
		p.log.Debug("event dropped, reader is slow", "event", ev.Type.String())
	}
}

func (p *participant) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// OnTrack implements room.Participant. The participant subscribes to
// nothing until a handler is registered, so that legs that never read
// cost LiveKit no forwarding.
func (p *participant) OnTrack(fn func(room.RemoteTrack)) {
	p.mu.Lock()
	p.handler = fn
	first := !p.wantTracks
	p.wantTracks = true
	closed := p.closed
	if p.publishOnly {
		// Its lean PeerConnection never receives: a companion receives
		// for it.
		p.startCompanionLocked()
	}
	p.mu.Unlock()
	p.wake()
	if !first || closed || p.publishOnly {
		return
	}
	if !p.hidden {
		p.b.audienceChanged(p.roomName) // a visible listener more
	}
	for _, rp := range p.lk.Load().GetRemoteParticipants() {
		if !p.wants(rp) {
			continue
		}
		for _, pub := range rp.TrackPublications() {
			// Subscribed already only when an unsubscription of
			// ReleaseTracks is on its way: asked again after it.
			if rpub, ok := pub.(*lksdk.RemoteTrackPublication); ok && p.wantsKind(rpub) {
				p.subscribe(rpub)
			}
		}
	}
}

// SetTrackFilter implements room.TrackFilter.
func (p *participant) SetTrackFilter(want func(participantID string) bool) {
	p.mu.Lock()
	p.filter = want
	p.mu.Unlock()
}

// wants applies the track filter to a publisher.
func (p *participant) wants(rp *lksdk.RemoteParticipant) bool {
	p.mu.Lock()
	f := p.filter
	p.mu.Unlock()
	return f == nil || f(rp.Identity())
}

func (p *participant) subscribe(pub *lksdk.RemoteTrackPublication) {
	p.mu.Lock()
	_, draining := p.released[pub.SID()]
	p.mu.Unlock()
	if draining {
		return // subscribed again once its old track has ended (trackEnded)
	}
	if err := pub.SetSubscribed(true); err != nil {
		p.log.Warn("subscribe failed", "track", pub.SID(), "err", err)
	}
}

func (p *participant) onTrackPublished(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	p.mu.Lock()
	want := p.wantTracks && !p.closed
	p.mu.Unlock()
	if want && p.wants(rp) && p.wantsKind(pub) {
		p.subscribe(pub)
	}
}

func (p *participant) onTrackSubscribed(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	kind := room.TrackKindAudio
	if pub.Kind() == lksdk.TrackKindVideo {
		kind = room.TrackKindVideo
	}
	rt := newRemoteTrack(pub.SID(), kind, track, rp)
	rt.source = trackSource(kind, pub.Source())
	p.mu.Lock()
	if p.closed || !p.wantTracks {
		released := !p.closed
		p.mu.Unlock()
		if released { // while the subscription was on its way
			_ = pub.SetSubscribed(false)
		}
		return
	}
	if old := p.remote[rt.id]; old != nil {
		old.close()
	}
	p.remote[rt.id] = rt
	p.queue = append(p.queue, rt)
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		rt.readLoop()
		p.trackEnded(rt, pub, rp)
	}()
	p.wake()
}

func (p *participant) onTrackUnsubscribed(_ *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
	p.mu.Lock()
	rt := p.remote[pub.SID()]
	delete(p.remote, pub.SID())
	p.mu.Unlock()
	if rt != nil {
		rt.close()
	}
}

func (p *participant) wake() {
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// dispatchLoop calls the OnTrack handler outside any lock, in order.
func (p *participant) dispatchLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case <-p.signal:
		}
		p.mu.Lock()
		fn := p.handler
		var q []room.RemoteTrack
		if fn != nil {
			q, p.queue = p.queue, nil
		}
		p.mu.Unlock()
		for _, t := range q {
			fn(t)
		}
	}
}

// RequestKeyframe implements room.Participant: an RTCP PLI towards the
// publisher, which LiveKit passes on.
func (p *participant) RequestKeyframe(trackID string) error {
	p.mu.Lock()
	rt := p.remote[trackID]
	p.mu.Unlock()
	if rt == nil {
		if cp := p.companionPart(); cp != nil {
			return cp.RequestKeyframe(trackID)
		}
		return fmt.Errorf("%w: %q", ErrUnknownTrack, trackID)
	}
	if rt.kind != room.TrackKindVideo {
		return fmt.Errorf("%w: %q is not video", ErrUnknownTrack, trackID)
	}
	rt.rp.WritePLI(rt.track.SSRC())
	return nil
}

// SetMuted implements room.Participant. A kind with no track yet is muted
// when its track is published.
func (p *participant) SetMuted(kind room.TrackKind, muted bool) error {
	if kind != room.TrackKindAudio && kind != room.TrackKindVideo {
		return fmt.Errorf("%w: track kind %v", room.ErrUnsupportedCodec, kind)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("%w: participant %q has left", room.ErrClosed, p.id)
	}
	p.muted[kind] = muted
	var pubs []publication
	for w := range p.writers {
		if w.kind == kind {
			pubs = append(pubs, w.pub)
		}
	}
	p.mu.Unlock()
	for _, pub := range pubs {
		pub.SetMuted(muted)
	}
	return nil
}

// onMuted sees every mute change; only those of this participant's own
// tracks that it did not ask for itself (the room API, another client with
// the right to) become EventMuted.
func (p *participant) onMuted(pub lksdk.TrackPublication, who lksdk.Participant, muted bool) {
	if _, local := who.(*lksdk.LocalParticipant); !local {
		return
	}
	p.mutedBy(kindOf(pub.Kind()), muted)
}

// mutedBy: this participant's tracks of kind were muted or unmuted, by
// itself or by someone else (who makes EventMuted).
func (p *participant) mutedBy(kind room.TrackKind, muted bool) {
	p.mu.Lock()
	if p.muted[kind] == muted {
		p.mu.Unlock()
		return // our own SetMuted
	}
	p.muted[kind] = muted
	p.mu.Unlock()
	p.emit(room.Event{Type: room.EventMuted, Kind: kind, Muted: muted})
}

func (p *participant) onParticipantConnected(rp *lksdk.RemoteParticipant) {
	p.peerJoined(remoteState(rp))
}

func (p *participant) onParticipantDisconnected(rp *lksdk.RemoteParticipant) {
	p.peerLeft(remoteState(rp))
}

// peerJoined: another participant joined the room.
func (p *participant) peerJoined(st room.ParticipantState) {
	p.recountAudience()
	p.emit(room.Event{Type: room.EventParticipantJoined, Participant: st})
}

// peerLeft: another participant left the room.
func (p *participant) peerLeft(st room.ParticipantState) {
	p.recountAudience()
	p.setPinned("", st.ID) // a pin ends with its participant
	p.emit(room.Event{Type: room.EventParticipantLeft, Participant: st})
}

func (p *participant) onActiveSpeakers(ps []lksdk.Participant) {
	ids := make([]string, len(ps))
	for i, sp := range ps {
		ids[i] = sp.Identity()
	}
	p.emit(room.Event{Type: room.EventActiveSpeakers, Speakers: ids})
}

// onReconnecting: the signalling or media connection dropped and the SDK
// tries to resume it. The participant is given ReconnectGrace to come back
// before the call is given up.
func (p *participant) onReconnecting() {
	p.log.Warn("connection to LiveKit lost, resuming")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.reconnect != nil {
		return
	}
	p.reconnect = time.AfterFunc(p.b.cfg.ReconnectGrace, func() {
		p.log.Warn("LiveKit did not come back in time", "grace", p.b.cfg.ReconnectGrace)
		p.b.requestCheck()
		p.remove("backend unavailable", true)
	})
}

func (p *participant) onReconnected() {
	p.log.Info("connection to LiveKit resumed")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reconnect != nil {
		p.reconnect.Stop()
		p.reconnect = nil
	}
}

// onDisconnected: LiveKit ended the session (kick, room deleted, server
// shutdown) or the SDK gave up reconnecting.
func (p *participant) onDisconnected(lksdk.DisconnectionReason) {
	p.disconnectedBy(p.lk.Load().DisconnectReason(), false)
}

// disconnectedBy: LiveKit ended the session for r; disconnect says whether
// the client is still to be closed.
func (p *participant) disconnectedBy(r lkproto.DisconnectReason, disconnect bool) {
	reason := reasonText(r)
	p.mu.Lock()
	if p.kickReason != "" && r == lkproto.DisconnectReason_PARTICIPANT_REMOVED {
		reason = p.kickReason
	}
	p.mu.Unlock()
	p.remove(reason, disconnect)
}

// reasonText is the EventRemoved reason for a LiveKit disconnect reason.
func reasonText(r lkproto.DisconnectReason) string {
	switch r {
	case lkproto.DisconnectReason_PARTICIPANT_REMOVED:
		return "removed"
	case lkproto.DisconnectReason_ROOM_DELETED, lkproto.DisconnectReason_ROOM_CLOSED:
		return "room closed"
	case lkproto.DisconnectReason_SERVER_SHUTDOWN:
		return "backend shutdown"
	case lkproto.DisconnectReason_DUPLICATE_IDENTITY:
		return "duplicate identity"
	case lkproto.DisconnectReason_SIGNAL_CLOSE, lkproto.DisconnectReason_UNKNOWN_REASON:
		return "backend unavailable"
	default:
		return strings.ToLower(strings.ReplaceAll(r.String(), "_", " "))
	}
}

// remove ends the participant from the outside with EventRemoved.
// disconnect says whether the SDK's session is still to be closed.
func (p *participant) remove(reason string, disconnect bool) {
	p.mu.Lock()
	leaving := p.leaving
	p.mu.Unlock()
	if leaving {
		return
	}
	if disconnect {
		p.disconnect()
	}
	if p.finish(&room.Event{Type: room.EventRemoved, Reason: reason}) {
		p.log.Info("participant removed", "reason", reason)
	}
}

// disconnect closes the SDK's session once.
func (p *participant) disconnect() {
	p.disconnectOnce.Do(func() {
		if p.lean != nil {
			p.lean.close()
			return
		}
		p.lk.Load().Disconnect()
	})
}

// finish ends events, tracks and writers once; it reports whether this call
// did it.
func (p *participant) finish(last *room.Event) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	if last != nil {
		select {
		case p.events <- *last:
		default:
		}
	}
	p.closed = true
	close(p.events)
	close(p.done)
	p.stopCompanionLocked()
	if p.reconnect != nil {
		p.reconnect.Stop()
		p.reconnect = nil
	}
	remote := p.remote
	p.remote = map[string]*remoteTrack{}
	p.queue = nil
	writers := p.writers
	p.writers = map[*localTrack]bool{}
	p.mu.Unlock()
	for _, rt := range remote {
		rt.close()
	}
	for w := range writers {
		w.end()
	}
	p.b.unregister(p)
	return true
}

// wait waits for the participant's goroutines.
func (p *participant) wait() { p.wg.Wait() }

// Leave implements room.Participant. It must not be called from the OnTrack
// handler, whose return it waits for.
func (p *participant) Leave(reason string) error {
	p.mu.Lock()
	first := !p.leaving && !p.closed
	p.leaving = true
	p.mu.Unlock()
	p.disconnect()
	p.finish(nil)
	p.wait()
	if first {
		p.log.Info("participant left", "reason", reason)
	}
	return nil
}

// setKickReason remembers why our own Directory removes this participant,
// so that its EventRemoved says so rather than LiveKit's generic reason.
func (p *participant) setKickReason(reason string) {
	p.mu.Lock()
	p.kickReason = reason
	p.mu.Unlock()
}

// remoteState is the room's view of another participant.
func remoteState(rp *lksdk.RemoteParticipant) room.ParticipantState {
	st := room.ParticipantState{
		ID: rp.Identity(), Name: rp.Name(), Kind: roomKind(lkproto.ParticipantInfo_Kind(rp.Kind())),
	}
	st.Attributes, st.Pinned = splitPin(rp.Attributes())
	for _, pub := range rp.TrackPublications() {
		ts := room.TrackState{ID: pub.SID(), Kind: room.TrackKindAudio, Codec: pub.MimeType(), Muted: pub.IsMuted()}
		if pub.Kind() == lksdk.TrackKindVideo {
			ts.Kind = room.TrackKindVideo
		}
		ts.Source = trackSource(ts.Kind, pub.Source())
		st.Tracks = append(st.Tracks, ts)
	}
	st.AudioMuted, st.VideoMuted = mutedKinds(st.Tracks)
	return st
}

// mutedKinds says whether each kind has tracks and all of them are muted.
func mutedKinds(ts []room.TrackState) (audio, video bool) {
	var na, nv, ma, mv int
	for _, t := range ts {
		switch t.Kind {
		case room.TrackKindAudio:
			na++
			if t.Muted {
				ma++
			}
		case room.TrackKindVideo:
			nv++
			if t.Muted {
				mv++
			}
		}
	}
	return na > 0 && ma == na, nv > 0 && mv == nv
}
